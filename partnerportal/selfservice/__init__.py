"""The customer's own pages at /portal/: each customer runs its desktops here and sees nothing of anyone else's."""
