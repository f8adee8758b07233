/** @odoo-module **/
/*
 * A customer follows the contact preferences link of a reminder email, without an account (the link is
 * signed), and opts out of SMS. tests/test_tours.py starts it and checks the partner and the consent log.
 */

import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("account_collections_opt_out_by_link", {
    steps: () => [
        {
            content: "The preferences page opened from the email, nobody logged in: the form carries the link",
            trigger: 'form.o_collection_preferences_form:has(input[name="access_token"])',
        },
        {
            content: "Opt out of SMS",
            trigger: 'form.o_collection_preferences_form input[name="opt_out_sms"]',
            run: "check",
        },
        {
            content: "Save",
            trigger: 'form.o_collection_preferences_form button[type="submit"]',
            run: "click",
        },
        {
            content: "Saved, on the same signed page",
            trigger: '.alert-success[role="status"]',
        },
        {
            content: "The SMS box stays ticked",
            trigger: 'form.o_collection_preferences_form input[name="opt_out_sms"]:checked',
        },
    ],
});
