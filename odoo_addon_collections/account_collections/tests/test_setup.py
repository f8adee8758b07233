from odoo.exceptions import UserError
from odoo.tests import Form, TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestFirstRunSetup(TransactionCase):
    """A manager who opens the app of a company not set up is offered the setup, once."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.company.collection_setup_done = False
        cls.Users = cls.env["res.users"].with_context(no_reset_password=True)
        groups = cls.env.ref
        cls.manager = cls.Users.create(
            {
                "name": "Marta Manager",
                "login": "setup-manager",
                "groups_id": [
                    (
                        6,
                        0,
                        [
                            groups("account_collections.group_collection_manager").id,
                            groups("base.group_erp_manager").id,
                        ],
                    )
                ],
            }
        )
        cls.collector = cls.Users.create(
            {
                "name": "Carlos Collector",
                "login": "setup-collector",
                "groups_id": [(6, 0, [groups("account_collections.group_collection_user").id])],
            }
        )
        cls.newcomer = cls.Users.create(
            {"name": "Nuria Newcomer", "login": "setup-newcomer", "groups_id": [(6, 0, groups("base.group_user").ids)]}
        )

    def start(self, user):
        return self.env["collection.setup"].with_user(user)._start_action()

    def days(self, *isos):
        return self.env["collection.weekday"].search([("iso", "in", isos)])

    def test_the_app_opens_on_the_setup_until_it_is_saved_then_never_again(self):
        root = self.env.ref("account_collections.menu_collections_root")
        self.assertEqual(root.action, self.env.ref("account_collections.action_collection_start"))
        self.assertEqual(self.start(self.manager)["res_model"], "collection.setup")
        self.assertEqual(self.start(self.collector)["res_model"], "collection.action")  # a collector: My Worklist
        for user in (self.manager, self.collector):  # the app is in the menu of both
            self.assertIn(root.id, self.env["ir.ui.menu"].with_user(user)._visible_menu_ids())
        with Form(self.env["collection.setup"].with_user(self.manager)) as setup:
            self.assertEqual(setup.hours, "09:00-13:00,15:00-18:00")  # the company's, to confirm
            self.assertEqual(setup.weekday_ids[:], self.days(1, 2, 3, 4, 5))
            self.assertIn(self.collector, setup.collector_ids[:])
            # pre-due, the five tones, thank-you, the instalment reminders (before and after due), the statement
            self.assertEqual(len(setup.mail_template_ids), 10)
            setup.tz = "Europe/Madrid"
            setup.hours = "09:00-14:00"
            setup.weekday_ids.remove(id=self.days(5).id)
            setup.collector_ids.add(self.newcomer)
            setup.default_user_id = self.newcomer
            setup.email_from = "Cobros <cobros@example.com>"
        action = setup.record.action_apply()
        self.assertEqual(action["res_model"], "collection.case")
        company = self.company
        self.assertTrue(company.collection_setup_done)
        self.assertEqual(
            (company.collection_tz, company.collection_hours, company.collection_weekdays),
            ("Europe/Madrid", "09:00-14:00", "1,2,3,4"),
        )
        self.assertEqual(company.collection_default_user_id, self.newcomer)
        self.assertEqual(company.collection_email_from, "Cobros <cobros@example.com>")
        # the newcomer collects now, and lands on their worklist
        self.assertTrue(self.newcomer.has_group("account_collections.group_collection_user"))
        self.assertEqual(self.newcomer.action_id.id, self.env.ref("account_collections.action_collection_worklist").id)
        self.assertEqual(self.start(self.manager)["res_model"], "collection.case")
        policy = self.env["collection.run"]._policy(company)
        self.assertEqual((policy.contact.timezone, policy.contact.window.weekdays), ("Europe/Madrid", (1, 2, 3, 4)))

    def test_later_leaves_the_setup_for_next_time(self):
        setup = self.env["collection.setup"].with_user(self.manager).create({})
        self.assertEqual(setup.action_later()["res_model"], "collection.case")
        self.assertFalse(self.company.collection_setup_done)
        self.assertEqual(self.start(self.manager)["res_model"], "collection.setup")

    def test_a_contact_window_the_engine_cannot_read_is_refused(self):
        setup = self.env["collection.setup"].with_user(self.manager).create({"hours": "9 to 5"})
        with self.assertRaisesRegex(UserError, r"contact\.hours"):
            setup.action_apply()
        setup = self.env["collection.setup"].with_user(self.manager).create({"weekday_ids": [(5,)]})
        with self.assertRaisesRegex(UserError, "days"):
            setup.action_apply()

    def test_only_an_administrator_of_access_rights_makes_new_collectors(self):
        manager = self.manager
        manager.groups_id -= self.env.ref("base.group_erp_manager")
        setup = self.env["collection.setup"].with_user(manager).create({"collector_ids": [(4, self.newcomer.id)]})
        with self.assertRaisesRegex(UserError, "Nuria Newcomer"):
            setup.action_apply()
        self.assertFalse(self.newcomer.has_group("account_collections.group_collection_user"))
        setup.collector_ids = self.collector  # existing collectors are fine
        setup.action_apply()
        self.assertTrue(self.company.collection_setup_done)
