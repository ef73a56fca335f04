"""Django's user and group admins, registered again: a staff user's customer limit is set on their page."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group, User

from tenants.models import StaffCustomerLimit

from .base import StaffAdmin


class StaffCustomerLimitInline(admin.StackedInline):
    model = StaffCustomerLimit
    can_delete = True
    extra = 0
    max_num = 1
    filter_horizontal = ["customers"]
    verbose_name = "customer limit (account managers: only these customers)"
    verbose_name_plural = verbose_name


class UserAdmin(StaffAdmin, DjangoUserAdmin):
    inlines = [StaffCustomerLimitInline]


class GroupAdmin(StaffAdmin, DjangoGroupAdmin):
    pass


admin.site.unregister(User)
admin.site.register(User, UserAdmin)
admin.site.unregister(Group)
admin.site.register(Group, GroupAdmin)
