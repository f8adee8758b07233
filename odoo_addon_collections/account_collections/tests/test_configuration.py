import json
from decimal import Decimal

from collections_engine import policy_from_dict

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestConfiguration(TransactionCase):
    def test_default_configuration_is_a_valid_engine_policy(self):
        document = self.env["collection.run"]._policy_document(self.env.company)
        policy = policy_from_dict(document)
        self.assertEqual(policy.default_strategy, "standard")
        self.assertEqual(
            [level.key for level in policy.strategy("standard").levels], ["pre_due", "first", "second", "call", "final"]
        )
        self.assertEqual(policy.stage_rules.dispute, "dispute")

    def test_an_invalid_configuration_names_the_field(self):
        self.env.ref("account_collections.level_second").delay_days = 3  # same day as the first reminder
        with self.assertRaisesRegex(UserError, r"strategies\[0\]\.levels\[2\]\.delay_days"):
            self.env["collection.run"]._policy(self.env.company)

    def test_export_policy_downloads_the_validated_document(self):
        action = self.env["collection.run"].action_export_policy()
        attachment_id = int(action["url"].split("/web/content/")[1].split("?")[0])
        attachment = self.env["ir.attachment"].browse(attachment_id)
        policy = policy_from_dict(json.loads(attachment.raw))
        self.assertEqual(policy.stage_rules.closed, "closed")
        self.assertEqual(policy.channel_cost("call"), Decimal("4.0"))

    def test_settings_change_the_contact_rules_of_the_policy(self):
        settings = self.env["res.config.settings"].create(
            {"collection_tz": "Europe/Madrid", "collection_hours": "10:00-14:00", "collection_max_per_week": 2}
        )
        settings.execute()
        policy = self.env["collection.run"]._policy(self.env.company)
        self.assertEqual(policy.contact.timezone, "Europe/Madrid")
        self.assertEqual(policy.contact.window.hours, (("10:00", "14:00"),))
        self.assertEqual(policy.contact.max_per_week, 2)

    def test_spanish_terms_load(self):
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"].search([("name", "=", "account_collections")])._update_translations(["es_ES"])
        stage = self.env.ref("account_collections.stage_promise").with_context(lang="es_ES")
        self.assertEqual(stage.name, "Promesa de pago")
        level = self.env.ref("account_collections.level_final").with_context(lang="es_ES")
        self.assertEqual(level.name, "Último aviso")

    def test_the_policy_is_readable_over_rpc_by_collections_users_only(self):
        collector = self.env["res.users"].create(
            {
                "name": "Collector",
                "login": "collector@example.com",
                "groups_id": [(6, 0, [self.env.ref("account_collections.group_collection_user").id])],
            }
        )
        document = collector.env["collection.run"].with_user(collector).get_policy_json()
        self.assertEqual(policy_from_dict(json.loads(document)).default_strategy, "standard")
        clerk = self.env["res.users"].create(
            {
                "name": "Clerk",
                "login": "clerk@example.com",
                "groups_id": [(6, 0, [self.env.ref("base.group_user").id])],
            }
        )
        with self.assertRaises(AccessError):
            self.env["collection.run"].with_user(clerk).get_policy_json()

    def test_risk_weights_are_configured_per_company(self):
        self.env.company.write({"collection_risk_avg_days_late": 50.0, "collection_risk_dispute_share": 0.0})
        policy = self.env["collection.run"]._policy(self.env.company)
        self.assertEqual(policy.risk.weights["avg_days_late"], 50.0)
        self.assertEqual(policy.risk.weights["dispute_share"], 0.0)
        self.assertEqual(policy.risk.weights["payment_timing"], 80.0, "the engine's default weight")
        self.env.company.write({"collection_risk_payment_timing": 0.0})
        policy = self.env["collection.run"]._policy(self.env.company)
        self.assertEqual(policy.risk.weights["payment_timing"], 0.0, "a company can keep the earlier score")
        self.env.company.write({f"collection_risk_{factor}": 0.0 for factor in policy.risk.weights})
        with self.assertRaisesRegex(UserError, r"risk\.weights"):
            self.env["collection.run"]._policy(self.env.company)

    def test_ab_variants_of_a_strategy_go_into_the_policy(self):
        standard = self.env.ref("account_collections.strategy_standard")
        early_call = self.env["collection.strategy"].create(
            {
                "name": "Early call",
                "key": "early_call",
                "parent_id": standard.id,
                "variant_weight": 30,
                "level_ids": [
                    (0, 0, {"name": "First reminder", "key": "first", "delay_days": 3}),
                    (0, 0, {"name": "Call", "key": "call", "delay_days": 7, "use_email": False, "use_call": True}),
                ],
            }
        )
        standard.write({"variant_weight": 70, "experiment_key": "2026-q4"})
        policy = self.env["collection.run"]._policy(self.env.company)
        self.assertEqual([s.key for s in policy.strategies], ["standard"])  # a variant is no strategy of its own
        strategy = policy.strategy("standard")
        self.assertEqual(strategy.experiment_key, "2026-q4")
        self.assertEqual([(v.key, v.weight) for v in strategy.variants], [("control", 70), ("early_call", 30)])
        self.assertEqual([level.key for level in strategy.variants[1].levels], ["first", "call"])
        self.assertEqual(standard._variant_levels("early_call"), early_call.level_ids)
        self.assertEqual(standard._variant_levels("control"), standard.level_ids)
        with self.assertRaises(ValidationError):
            early_call.key = "control"

    def test_contact_rules_per_country_go_into_the_policy(self):
        self.env["collection.contact.country"].create(
            {
                "country_id": self.env.ref("base.mx").id,
                "tz": "America/Mexico_City",
                "hours": "10:00-14:00",
                "weekdays": "1,2,3,4,5,6",
            }
        )
        policy = self.env["collection.run"]._policy(self.env.company)
        rule = policy.contact.countries["MX"]
        self.assertEqual(
            (rule.timezone, rule.window.hours, rule.window.weekdays),
            ("America/Mexico_City", (("10:00", "14:00"),), (1, 2, 3, 4, 5, 6)),
        )

    def test_a_case_takes_its_collectors_team(self):
        collector = self.env["res.users"].create(
            {
                "name": "Ana",
                "login": "ana@example.com",
                "groups_id": [(6, 0, [self.env.ref("account_collections.group_collection_user").id])],
            }
        )
        team = self.env["collection.team"].create({"name": "Iberia", "member_ids": [(6, 0, collector.ids)]})
        case = self.env["collection.case"].create(
            {"partner_id": self.env["res.partner"].create({"name": "X"}).id, "user_id": collector.id}
        )
        self.assertEqual(case.team_id, team)

    def test_export_policy_is_in_the_menu_of_managers_only(self):
        menu = self.env.ref("account_collections.menu_collection_export_policy")
        manager = self.env["res.users"].create(
            {
                "name": "Manager",
                "login": "collections-manager-menu",
                "groups_id": [
                    (
                        6,
                        0,
                        [
                            self.env.ref("account_collections.group_collection_manager").id,
                            self.env.ref("account.group_account_invoice").id,
                        ],
                    )
                ],
            }
        )
        user = self.env["res.users"].create(
            {
                "name": "Collector",
                "login": "collections-user-menu",
                "groups_id": [
                    (
                        6,
                        0,
                        [
                            self.env.ref("account_collections.group_collection_user").id,
                            self.env.ref("account.group_account_invoice").id,
                        ],
                    )
                ],
            }
        )
        self.assertIn(menu.id, self.env["ir.ui.menu"].with_user(manager)._visible_menu_ids())
        self.assertNotIn(menu.id, self.env["ir.ui.menu"].with_user(user)._visible_menu_ids())

    def test_the_app_has_its_own_icon(self):
        from odoo.tools.misc import file_path

        root = self.env.ref("account_collections.menu_collections_root")
        self.assertEqual(root.web_icon, "account_collections,static/description/icon.png")
        with open(file_path("account_collections/static/description/icon.png"), "rb") as handle:
            self.assertEqual(handle.read(8), b"\x89PNG\r\n\x1a\n")

    def test_the_collection_level_has_its_own_labelled_row_on_the_invoice(self):
        from lxml import etree

        arch = etree.fromstring(self.env["account.move"].get_view(view_type="form")["arch"])
        (field,) = arch.xpath("//field[@name='collection_level_id']")
        self.assertIsNone(field.xpath("ancestor::div[@name='due_date']") or None)
        self.assertEqual(field.getparent().tag, "group")  # a group gives it its label "Collection Level"

    def test_cases_show_their_risk_in_its_colour_in_list_and_form(self):
        from lxml import etree

        for view_type in ("list", "form", "kanban"):
            arch = etree.fromstring(self.env["collection.case"].get_view(view_type=view_type)["arch"])
            (risk,) = (f for f in arch.iter("field") if f.get("name") == "risk_category_id")
            self.assertEqual(risk.get("widget"), "badge", view_type)
            self.assertIn("risk_color", risk.get("decoration-danger"), view_type)

    def test_every_list_says_what_it_is_for_when_it_is_empty(self):
        for xmlid in (
            "action_collection_worklist",
            "action_collection_action",
            "action_collection_case",
            "action_collection_contact_country",
            "action_collection_team",
            "action_collection_assignment_rule",
            "action_collection_minimum",
        ):
            action = self.env.ref(f"account_collections.{xmlid}")
            self.assertIn("o_view_nocontent_smiling_face", action.help or "", xmlid)
        spanish = self.env.ref("account_collections.action_collection_worklist").with_context(lang="es_ES")
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"]._load_module_terms(["account_collections"], ["es_ES"], overwrite=True)
        self.assertIn("Nada que hacer hoy", spanish.help)

    def test_the_case_s_open_items_show_their_amounts_with_a_currency(self):
        from lxml import etree

        arch = etree.fromstring(self.env["collection.case"].get_view(view_type="form")["arch"])
        (lines,) = arch.xpath("//field[@name='open_line_ids']/list")
        names = [f.get("name") for f in lines.iter("field")]
        # each monetary column has its currency field in the list, or Odoo shows no currency and no total
        self.assertIn("currency_id", names)  # of amount_residual_currency, the document's currency
        self.assertIn("company_currency_id", names)  # of amount_residual, summed in the company currency
        self.assertEqual(lines.xpath("field[@name='amount_residual']/@sum"), ["Total"])


@tagged("post_install", "-at_install")
class TestLateFeeConfiguration(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.product = cls.env["product.product"].create({"name": "Late fee", "type": "service"})
        cls.journal = cls.env["account.journal"].search(
            [("type", "=", "sale"), ("company_id", "=", cls.company.id)], limit=1
        )

    def _enable(self, rules):
        self.company.write(
            {
                "collection_late_fees": True,
                "collection_late_fee_rules": rules,
                "collection_fee_product_id": self.product.id,
                "collection_fee_journal_id": self.journal.id,
            }
        )

    def test_enabled_rules_reach_the_engine_policy(self):
        self.assertNotIn("late_fees", self.env["collection.run"]._policy_document(self.company))
        self._enable('{"preset": "MX"}')
        policy = self.env["collection.run"]._policy(self.company)
        self.assertIsNotNone(policy.late_fees)
        self.assertEqual(self.env["collection.run"]._policy_document(self.company)["late_fees"], {"preset": "MX"})

    def test_invalid_configuration_names_the_field(self):
        with self.assertRaisesRegex(ValidationError, "Late Fee Product"):
            self.company.write({"collection_late_fees": True, "collection_fee_journal_id": self.journal.id})
        with self.assertRaisesRegex(ValidationError, "Late Fee Rules"):
            self._enable("{not json")
        # the EU preset needs the reference rates: the engine names the field
        with self.assertRaisesRegex(UserError, r"late_fees\.interest\.reference_rates"):
            self._enable('{"preset": "EU"}')

    def test_another_company_settings_do_not_leak(self):
        company_b = self.env["res.company"].create({"name": "Company B (fees)"})
        self._enable('{"preset": "MX"}')
        self.assertNotIn("late_fees", self.env["collection.run"]._policy_document(company_b))
        journal_b = self.env["account.journal"].create(
            {"name": "Sales B", "code": "SB", "type": "sale", "company_id": company_b.id}
        )
        with self.assertRaisesRegex(ValidationError, "another company"):
            self.company.collection_fee_journal_id = journal_b
