"""What the configuration screens show: the levels edited in a dialog, weekdays by name, money with its currency."""

from freezegun import freeze_time
from lxml import etree

from odoo.tests import Form, TransactionCase, tagged
from odoo.tools.misc import format_amount

from ..models.collection_statement import PRE_DUE
from .common import NOW, CollectionsCase


def arch(env, model, view_type, view=None):
    return etree.fromstring(env[model].get_view(view and view.id, view_type=view_type)["arch"])


@tagged("post_install", "-at_install")
class TestLevelDialog(TransactionCase):
    """The strategy lists its levels in a few readable columns and edits each one in a form dialog."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.standard = cls.env.ref("account_collections.strategy_standard")
        cls.env.company.write(
            {"collection_cost_email": 0.02, "collection_cost_sms": 0.08, "collection_cost_letter": 1.5}
        )

    def level(self, key):
        return self.env.ref(f"account_collections.level_{key}")

    def test_the_levels_list_has_a_few_readable_columns_and_a_form_grouped_by_subject(self):
        (levels,) = arch(self.env, "collection.strategy", "form").xpath(
            "//page[@name='levels']/field[@name='level_ids']"
        )
        (listed,) = levels.xpath("list")
        self.assertIsNone(listed.get("editable"))  # a row opens the level's form in a dialog
        shown = [f.get("name") for f in listed.xpath("field") if f.get("optional") != "hide"]
        self.assertEqual(
            shown, ["delay_days", "name", "channel_ids", "tone", "mail_template_used_id", "sms_template_used_id"]
        )
        self.assertEqual(listed.xpath("field[@name='channel_ids']/@widget"), ["many2many_tags"])
        (form,) = levels.xpath("form")
        self.assertEqual(form.xpath(".//group[@name]/@name"), ["when", "channels", "templates", "costs", "call_letter"])
        self.assertEqual(form.xpath(".//group[@name='costs']/field[@name='cost_estimate']/@name"), ["cost_estimate"])

    def test_a_level_shows_its_channels_as_tags_in_their_order(self):
        self.assertEqual(self.level("final").channel_ids.mapped("key"), ["email", "letter"])
        self.assertEqual(self.level("second").channel_ids.mapped("key"), ["email", "sms", "whatsapp"])
        self.assertEqual(self.level("call").channel_ids.mapped("key"), ["call"])

    def test_the_list_names_the_template_each_level_sends(self):
        template = self.env.ref
        self.assertEqual(
            self.level("pre_due").mail_template_used_id,
            template("account_collections.mail_template_collection_pre_due"),
        )
        self.assertEqual(
            self.level("first").mail_template_used_id,
            template("account_collections.mail_template_collection_friendly"),
        )
        self.assertEqual(
            self.level("final").mail_template_used_id, template("account_collections.mail_template_collection_final")
        )
        self.assertEqual(
            self.level("final").sms_template_used_id, template("account_collections.sms_template_collection_final")
        )
        own = template("account_collections.mail_template_collection_formal")
        self.level("pre_due").mail_template_id = own
        self.assertEqual(self.level("pre_due").mail_template_used_id, own)
        # and that is the template the action sends, before the due date too
        action = self.env["collection.action"].new({"level_id": self.level("pre_due").id, "tone": "friendly"})
        self.assertEqual(action._mail_template(PRE_DUE), own)

    def test_a_level_says_what_it_costs_per_customer_in_the_company_currency(self):
        final = self.level("final")  # email and letter, all channels
        self.assertAlmostEqual(final.cost_estimate, 1.52)
        self.assertEqual(final.currency_id, self.env.company.currency_id)
        self.assertAlmostEqual(self.level("second").cost_estimate, 0.08)  # the dearest of email, SMS, WhatsApp

    def test_editing_a_level_in_its_dialog_saves_it_with_the_strategy(self):
        with Form(self.standard) as strategy:
            with strategy.level_ids.edit(1) as first:  # ordered by delay: the pre-due reminder, then the first
                self.assertEqual(first.name, "First reminder")
                first.use_whatsapp = True
                first.channel_mode = "all"
                first.delay_days = 5
            with strategy.level_ids.new() as new:
                new.name = "Formal notice"
                new.key = "formal"
                new.delay_days = 45
                new.use_letter = True
                new.tone = "formal"
        first = self.level("first")
        self.assertEqual((first.delay_days, first.channel_mode), (5, "all"))
        self.assertEqual(first.channel_ids.mapped("key"), ["email", "sms", "whatsapp"])
        formal = self.standard.level_ids.filtered(lambda level: level.key == "formal")
        self.assertEqual(formal.channel_ids.mapped("key"), ["email", "letter"])
        policy = self.env["collection.run"]._policy(self.env.company)
        self.assertEqual(
            [level.key for level in policy.strategy("standard").levels],
            ["pre_due", "first", "second", "call", "formal", "final"],
        )

    def test_channel_names_are_translated(self):
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"]._load_module_terms(["account_collections"], ["es_ES"], overwrite=True)
        names = self.level("final").with_context(lang="es_ES").channel_ids.mapped("name")
        self.assertEqual(names, ["Correo electrónico", "Carta"])


@tagged("post_install", "-at_install")
class TestWeekdaysByName(TransactionCase):
    """Contact windows show and edit their weekdays by name and keep the ISO numbers the policy needs."""

    def days(self, *isos):
        return self.env["collection.weekday"].search([("iso", "in", isos)])

    def test_the_company_s_contact_days_are_named_and_saved_as_iso_numbers(self):
        company = self.env.company
        self.assertEqual(company.collection_weekdays, "1,2,3,4,5")
        self.assertEqual(
            company.collection_weekday_ids.mapped("name"), ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
        )
        settings = self.env["res.config.settings"].create({"collection_weekday_ids": [(6, 0, self.days(1, 3, 6).ids)]})
        settings.execute()
        self.assertEqual(company.collection_weekdays, "1,3,6")
        policy = self.env["collection.run"]._policy(company)
        self.assertEqual(policy.contact.window.weekdays, (1, 3, 6))

    def test_a_country_rule_and_a_customer_edit_their_days_as_tags(self):
        rule = self.env["collection.contact.country"].create(
            {
                "country_id": self.env.ref("base.co").id,
                "hours": "08:00-19:00",
                "weekday_ids": self.days(1, 2, 3, 4, 5, 6).ids,
            }
        )
        self.assertEqual(rule.weekdays, "1,2,3,4,5,6")
        self.assertEqual(rule.weekday_ids[-1].name, "Saturday")
        self.assertEqual(
            self.env["collection.run"]._policy(self.env.company).contact.countries["CO"].window.weekdays,
            (1, 2, 3, 4, 5, 6),
        )
        partner = self.env["res.partner"].create({"name": "Own days"})
        self.assertFalse(partner.collection_weekday_ids)  # the company's days
        with Form(partner) as form:
            form.collection_weekday_ids.add(self.days(2))
            form.collection_weekday_ids.add(self.days(4))
        self.assertEqual(partner.collection_weekdays, "2,4")
        partner.collection_weekday_ids = False
        self.assertFalse(partner.collection_weekdays)

    def test_no_screen_shows_weekdays_as_numbers(self):
        for model, view_type, name in (
            ("res.config.settings", "form", "collection_weekday_ids"),
            ("collection.contact.country", "list", "weekday_ids"),
            ("res.partner", "form", "collection_weekday_ids"),
        ):
            view = arch(self.env, model, view_type)
            self.assertFalse(view.xpath("//field[@name='collection_weekdays' or @name='weekdays']"), model)
            self.assertEqual(view.xpath(f"//field[@name='{name}']/@widget"), ["many2many_tags"], model)

    def test_day_names_are_translated(self):
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"]._load_module_terms(["account_collections"], ["es_ES"], overwrite=True)
        names = self.env.company.with_context(lang="es_ES").collection_weekday_ids.mapped("name")
        self.assertEqual(names, ["Lunes", "Martes", "Miércoles", "Jueves", "Viernes"])


@tagged("post_install", "-at_install")
class TestMoneyWithItsCurrency(CollectionsCase):
    """Costs in the Settings and amounts in the chatter carry the company currency, formatted as Odoo does."""

    def money(self, amount, lang="en_US", currency=None):
        """An amount as Odoo formats it (with its non-breaking space)."""
        return format_amount(self.env, amount, currency or self.currency, lang_code=lang)

    def logs(self, case):
        return case.message_ids.sorted("id").mapped(lambda message: message.body.striptags())

    def test_the_channel_costs_are_amounts_of_the_company_currency(self):
        for model in ("res.company", "res.config.settings"):
            for channel in ("email", "sms", "whatsapp", "call", "letter", "visit"):
                field = self.env[model]._fields[f"collection_cost_{channel}"]
                self.assertEqual(field.type, "monetary", (model, channel))
                self.assertEqual(field.get_currency_field(self.env[model]), "currency_id")
        view = arch(self.env, "res.config.settings", "form")
        (costs,) = view.xpath("//block[@name='collection_channel_costs']")
        self.assertTrue(costs.xpath(".//field[@name='currency_id']"))  # the monetary widgets' currency
        self.env.company.collection_cost_call = 3.5
        policy = self.env["collection.run"]._policy(self.env.company)
        self.assertEqual(str(policy.channel_cost("call")), "3.5")

    @freeze_time(NOW)
    def test_a_logged_call_says_the_promise_and_its_cost_with_the_currency(self):
        self.invoice(1750.0, "2026-10-20")
        self.run_collections()
        case = self.case()
        self.env.company.collection_cost_call = 4.0
        self.env["collection.log.call"].create(
            {
                "case_id": case.id,
                "outcome": "promised",
                "promised_date": "2026-11-30",
                "promised_amount": 1750.0,
                "note": "Pays on Monday",
            }
        ).action_log()
        self.assertEqual(len(case.promise_ids), 1)
        self.assertEqual(
            self.logs(case)[-1],
            f"Call logged: Promised to pay. Pays on Monday Promise to pay {self.money(1750.0)} by 11/30/2026. "
            f"Cost of the call: {self.money(4.0)}.",
        )
        self.assertNotIn("Promise to pay", " ".join(self.logs(case)[:-1]))  # said once

    @freeze_time(NOW)
    def test_in_spanish_the_call_is_logged_in_spanish_with_spanish_money(self):
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"]._load_module_terms(["account_collections"], ["es_ES"], overwrite=True)
        self.invoice(1750.0, "2026-10-20")
        self.run_collections()
        case = self.case()
        self.env["collection.log.call"].with_context(lang="es_ES").create(
            {"case_id": case.id, "outcome": "promised", "promised_date": "2026-11-30", "promised_amount": 1750.0}
        ).action_log()
        spanish = self.money(1750.0, "es_ES")
        self.assertIn("1.750,00", spanish)
        self.assertEqual(
            self.logs(case)[-1],
            f"Llamada registrada: Prometió pagar. Promesa de pago de {spanish} antes del 30/11/2026. "
            f"Coste de la llamada: {self.money(4.0, 'es_ES')}.",
        )

    @freeze_time(NOW)
    def test_a_promise_and_a_plan_made_on_the_case_are_logged_with_their_amounts(self):
        self.invoice(1200.0, "2026-10-20")
        self.run_collections()
        case = self.case()
        with Form(case) as form:
            with form.promise_ids.new() as promise:
                promise.promised_date = "2026-12-04"
                promise.amount = 600.0
        # before the call it makes obsolete is cancelled
        self.assertIn(f"Promise to pay {self.money(600.0)} by 12/04/2026.", self.logs(case))
        case.promise_ids.cancelled = True
        self.env["collection.plan"].create(
            {
                "case_id": case.id,
                "total": 1200.0,
                "down_payment": 300.0,
                "installments": 3,
                "frequency": "monthly",
                "first_due": "2026-12-01",
            }
        )
        self.assertEqual(
            self.logs(case)[-1],
            f"Payment plan of {self.money(1200.0)} in 3 instalments (monthly), the first of {self.money(300.0)} "
            f"on 12/01/2026. Down payment: {self.money(300.0)}.",
        )


@tagged("post_install", "-at_install")
class TestWorkScreens(TransactionCase):
    """The cases' kanban totals its columns; a collector logs a call from the worklist's row."""

    def test_the_kanban_columns_total_the_amounts_to_collect(self):
        kanban = arch(self.env, "collection.case", "kanban")
        self.assertEqual(kanban.get("js_class"), "collection_case_kanban")  # the totals with their currency
        (progressbar,) = kanban.xpath("progressbar")
        self.assertEqual(progressbar.get("sum_field"), "amount_due")

    def test_the_worklist_logs_a_call_from_its_row(self):
        listed = arch(self.env, "collection.action", "list")
        (button, visit_button) = listed.xpath("button[@name='action_log_call']")
        self.assertIn("channel != 'call'", button.get("invisible"))
        self.assertIn("channel != 'visit'", visit_button.get("invisible"))
        case = self.env["collection.case"].create({"partner_id": self.env["res.partner"].create({"name": "C"}).id})
        call = self.env["collection.action"].create(
            {"key": "call-1", "case_id": case.id, "channel": "call", "state": "to_do"}
        )
        action = call.action_log_call()
        self.assertEqual((action["res_model"], action["target"]), ("collection.log.call", "new"))
        self.assertEqual(action["context"], {"default_case_id": case.id, "default_channel": "call"})
