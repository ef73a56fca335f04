// django-celery-beat's crontab translation on the periodic task form, as a file: the
// Content-Security-Policy allows no inline script (its own template has one).
"use strict";
{
    const script = document.currentScript;
    const $ = django.jQuery;
    const readableCrontabs = JSON.parse(document.getElementById("readable-crontabs").textContent);
    const originalHelp = script.dataset.crontabHelp || "";
    $(".field-crontab_translation").hide();
    $(".field-crontab").change(function () {
        const help = $(".field-crontab .help");
        help.text(originalHelp);
        help.append(document.createElement("br"));
        help.append(document.createTextNode("Translation: " + (readableCrontabs[$("#id_crontab").val()] || "")));
    });
}
