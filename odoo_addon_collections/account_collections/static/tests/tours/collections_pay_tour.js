/** @odoo-module **/
/*
 * A customer opens the link of a reminder (not logged in), pays everything overdue in one payment with
 * Odoo's payment form (the demo provider), and lands back on the page, thanked. tests/test_portal_pay.py
 * starts it and checks the ledger afterwards.
 */

import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("account_collections_portal_pay_all", {
    steps: () => [
        {
            content: "Pay all overdue, for the amount due the page shows",
            trigger: "a.o_collection_pay_all",
            run: "click",
        },
        { content: "The amount to pay is the amount due", trigger: ".o_collection_pay_amount:contains(1,400.00)" },
        {
            content: "Choose the demo provider's method",
            trigger: 'input[name="o_payment_radio"][data-provider-code="demo"]',
            run: "click",
        },
        { content: "Type the card details", trigger: "#customer_input", run: "edit 4242424242424242" },
        { content: "Pay", trigger: 'button[name="o_payment_submit_button"]:enabled', run: "click" },
        {
            content: "Back on the Payments Due page, thanked",
            trigger: ".alert-success:contains(Thank you for your payment)",
            timeout: 30000,
        },
    ],
});
