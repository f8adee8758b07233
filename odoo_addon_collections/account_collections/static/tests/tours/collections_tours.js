/** @odoo-module **/
/*
 * Walks through the main screens of Collections as a manager, a collector and a portal customer,
 * in the language of the user (English or Spanish): each tour checks words of that language, so a
 * screen left untranslated fails it. tests/test_tours.py starts them (and fails on a console error).
 */

import { formatDate } from "@web/core/l10n/dates";
import { localization } from "@web/core/l10n/localization";
import { registry } from "@web/core/registry";
import { session } from "@web/session";

const { DateTime } = luxon;

const TEXTS = {
    en: {
        app: "Collections",
        nothingToDo: "Nothing to do today",
        when: "When",
        channels: "Channels",
        costs: "Costs",
        contactDays: "Contact Days",
        monday: "Monday",
        callLogged: "Call logged",
        callCost: "Cost of the call",
        promised: "500.00",
        paymentsDue: "Payments Due",
        promiseRecorded: "your promise to pay is recorded",
        setUp: "Set up Collections",
    },
    es: {
        app: "Cobros",
        nothingToDo: "Nada que hacer hoy",
        when: "Cuándo",
        channels: "Canales",
        costs: "Costes",
        contactDays: "Días de contacto",
        monday: "Lunes",
        callLogged: "Llamada registrada",
        callCost: "Coste de la llamada",
        promised: "500,00",
        paymentsDue: "Pagos pendientes",
        promiseRecorded: "su promesa de pago queda registrada",
        setUp: "Configurar Cobros",
    },
};

/** The words of the language the page is in: the session's (the user's), in the backend as in the portal. */
function texts() {
    const lang = session.bundle_params?.lang || localization.code;
    return lang.startsWith("es") ? TEXTS.es : TEXTS.en;
}

const APP = '.o_app[data-menu-xmlid="account_collections.menu_collections_root"]';

function openApp(t) {
    return [
        { content: "Open the apps menu", trigger: ".o_navbar_apps_menu button:enabled", run: "click" },
        { content: "Open the Collections app", trigger: APP, run: "click" },
        { content: "The app's name in the user's language", trigger: `.o_menu_brand:contains(${t.app})` },
    ];
}

function openTopMenu(xmlid) {
    return [
        {
            content: `Open the menu ${xmlid}`,
            trigger: `.o_main_navbar .o_nav_entry[data-menu-xmlid="account_collections.${xmlid}"]`,
            run: "click",
        },
    ];
}

function openMenu(parentXmlid, xmlid) {
    return [
        {
            content: `Open the menu ${parentXmlid}`,
            trigger: `.o_main_navbar button[data-menu-xmlid="account_collections.${parentXmlid}"]`,
            run: "click",
        },
        {
            content: `Choose ${xmlid}`,
            trigger: `.dropdown-item[data-menu-xmlid="account_collections.${xmlid}"]`,
            run: "click",
        },
    ];
}

registry.category("web_tour.tours").add("account_collections_setup", {
    steps: () => {
        const t = texts();
        return [
            ...openApp(t),
            { content: "The setup is offered", trigger: `.o_form_view h1:contains(${t.setUp})` },
            {
                content: "Contact hours",
                trigger: '.o_form_view div[name="hours"] input',
                run: "edit 08:30-14:30",
            },
            {
                content: "The days are named",
                trigger: `.o_form_view div[name="weekday_ids"] .badge:contains(${t.monday})`,
            },
            {
                content: "The email templates are listed",
                trigger: '.o_form_view div[name="mail_template_ids"] .o_data_row',
            },
            {
                content: "Save and start",
                trigger: '.o_form_view button[name="action_apply"]',
                run: "click",
            },
            { content: "The app opens on the cases", trigger: ".o_kanban_view .o_kanban_group" },
        ];
    },
});

registry.category("web_tour.tours").add("account_collections_manager", {
    steps: () => {
        const t = texts();
        return [
            ...openApp(t),
            {
                content: "The cases kanban: a column's total has its currency",
                trigger: ".o_kanban_group .o_kanban_header .o_animated_number span:contains($)",
            },
            {
                content: "Open the case of partner_a",
                trigger: ".o_kanban_record:contains(partner_a)",
                run: "click",
            },
            {
                content: "The case: its stage in the status bar",
                trigger: ".o_form_view .o_statusbar_status .o_arrow_button_current",
            },
            {
                content: "The amount to collect with its currency",
                trigger: '.o_form_view div[name="amount_due"]:contains($)',
            },
            {
                content: "The risk category as a badge",
                trigger: '.o_form_view div[name="risk_category_id"] .badge',
            },
            ...openTopMenu("menu_collection_worklist"),
            {
                content: "My Worklist says what it is for when it is empty",
                trigger: `.o_view_nocontent:contains(${t.nothingToDo})`,
            },
            ...openMenu("menu_collection_config", "menu_collection_strategies"),
            {
                content: "Open the standard strategy",
                trigger: '.o_list_view .o_data_row:first-child td[name="name"]',
                run: "click",
            },
            {
                content: "The levels show their channels as tags",
                trigger: '.o_form_view div[name="level_ids"] .o_data_row .o_field_many2many_tags .badge',
            },
            {
                content: "Open the first reminder",
                trigger: '.o_form_view div[name="level_ids"] .o_data_row:nth-child(2) td[name="name"]',
                run: "click",
            },
            {
                content: "The level opens in a dialog grouped by subject",
                trigger: `.modal .o_form_view .o_horizontal_separator:contains(${t.when})`,
            },
            { trigger: `.modal .o_form_view .o_horizontal_separator:contains(${t.channels})` },
            {
                content: "Its cost per customer, with the currency",
                trigger: `.modal .o_form_view .o_horizontal_separator:contains(${t.costs})`,
            },
            { trigger: '.modal div[name="cost_estimate"]:contains($)' },
            { content: "Close the dialog", trigger: ".modal .o_form_button_cancel", run: "click" },
            { trigger: "body:not(:has(.modal))" },
            ...openMenu("menu_collection_config", "menu_collection_settings"),
            {
                content: "Settings: contact days by name",
                trigger: `.o_setting_box:contains(${t.contactDays}) div[name="collection_weekday_ids"] .badge:contains(${t.monday})`,
            },
            {
                content: "Settings: the cost of a call with the currency",
                trigger: '.o_setting_box div[name="collection_cost_call"]:contains($)',
            },
        ];
    },
});

registry.category("web_tour.tours").add("account_collections_collector", {
    steps: () => {
        const t = texts();
        const promisedOn = formatDate(DateTime.now().plus({ days: 7 }));
        return [
            ...openApp(t),
            {
                content: "The app opens on My Worklist: the call to partner_a",
                trigger: '.o_list_view .o_data_row:contains(partner_a) button[name="action_log_call"]',
                run: "click",
            },
            {
                content: "The customer promises to pay",
                trigger: '.modal div[name="outcome"] input[data-value="promised"]',
                run: "click",
            },
            {
                trigger: '.modal div[name="promised_date"] input',
                run: `edit ${promisedOn}`,
            },
            { trigger: '.modal div[name="promised_amount"] input', run: "edit 500" },
            { trigger: '.modal div[name="note"] textarea', run: "edit Pays next week" },
            { content: "Log the call", trigger: '.modal button[name="action_log"]', run: "click" },
            { content: "The call is off the worklist", trigger: "body:not(:has(.modal)) .o_view_nocontent" },
            ...openTopMenu("menu_collection_cases"),
            { content: "Open the case", trigger: ".o_kanban_record:contains(partner_a)", run: "click" },
            {
                content: "The chatter says the call, the promise and the cost with the currency",
                trigger: `.o-mail-Message-body:contains(${t.callLogged}):contains(${t.promised}):contains(${t.callCost})`,
            },
        ];
    },
});

registry.category("web_tour.tours").add("account_collections_portal", {
    steps: () => {
        const t = texts();
        const promisedOn = DateTime.now().plus({ days: 7 }).toISODate();
        return [
            {
                content: "The portal home links to the payments due",
                trigger: `a[href="/my/collections"]:contains(${t.paymentsDue})`,
                run: "click",
            },
            {
                content: "The amount of the promise shows its currency",
                trigger: 'form[action$="/promise"] .input-group-text:contains($)',
            },
            {
                content: "Choose the payment date",
                trigger: 'form[action$="/promise"] input[name="promised_date"]',
                run() {
                    this.anchor.value = promisedOn;
                },
            },
            {
                content: "Send the promise",
                trigger: 'form[action$="/promise"] button[type="submit"]',
                run: "click",
            },
            { content: "The promise is recorded", trigger: `.alert-success:contains(${t.promiseRecorded})` },
        ];
    },
});

registry.category("web_tour.tours").add("account_collections_missing_step", {
    steps: () => [
        { content: "A screen that is there", trigger: ".o_main_navbar" },
        { content: "A step that is missing", trigger: ".o_collections_no_such_element", timeout: 1500 },
    ],
});

registry.category("web_tour.tours").add("account_collections_console_error", {
    steps: () => [
        {
            content: "A screen that logs an error",
            trigger: ".o_main_navbar",
            run() {
                console.error("Collections: an error in the browser's console");
            },
        },
        { content: "A step that is there", trigger: ".o_main_navbar" },
    ],
});
