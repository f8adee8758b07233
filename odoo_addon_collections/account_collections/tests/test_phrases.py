from freezegun import freeze_time

from odoo.tests import tagged

from odoo.addons.account_collections.models import collection_phrases

from .common import NOW, CollectionsCase


@tagged("post_install", "-at_install")
class TestPhrases(CollectionsCase):
    def test_the_addon_lists_every_engine_phrase_with_its_english_text(self):
        from collections_engine.phrases import ENGLISH

        self.assertEqual(set(collection_phrases.TEMPLATES), set(ENGLISH))
        for code, template in ENGLISH.items():
            singular, plural, count = collection_phrases.TEMPLATES[code]
            self.assertEqual(singular._source, template.singular, code)
            self.assertEqual(plural._source if plural else None, template.plural, code)
            self.assertEqual(count, template.count, code)

    @freeze_time(NOW)
    def test_reasons_and_risk_read_in_the_readers_language(self):
        self.invoice(1000.0, "2026-10-20")  # 35 days overdue
        self.run_collections()
        case = self.case()
        (action,) = case.action_ids
        self.assertIn("35 days overdue", action.reason_display)
        self.assertEqual(action.reason_display, action.reason)  # English: the engine's own text
        self.assertIn("overdue", case.risk_explanation_display)
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"].search([("name", "=", "account_collections")])._update_translations(["es_ES"])
        spanish_action = action.with_context(lang="es_ES")
        self.assertIn("vencida hace 35 días", spanish_action.reason_display)
        self.assertIn("nivel «", spanish_action.reason_display)
        self.assertNotIn("overdue", spanish_action.reason_display)
        spanish_case = case.with_context(lang="es_ES")
        self.assertTrue(spanish_case.risk_explanation_display)
        self.assertNotIn("overdue", spanish_case.risk_explanation_display)
        self.assertEqual(
            self.partner_a.with_context(lang="es_ES").collection_risk_explanation, spanish_case.risk_explanation_display
        )
