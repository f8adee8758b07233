"""18.0.1.1.0: reminders print the statement of account; the 1.0 defaults of the templates go.

The mail and SMS templates are ``noupdate`` (a company's edits survive upgrades), so the
upgrade keeps a 1.0 body that calls ``collection_overdue_moves()``, which no longer exists, and
every reminder would fail. A template still holding a 1.0 default body is given the new one, in
every language (the translations are loaded again from the module's files); an edited template
is left alone, and is reported.
"""

import json
import logging

_logger = logging.getLogger(__name__)

MAIL_BODY = '<div><t t-call="account_collections.mail_body_reminder"/></div>'
MAIL_SUBJECT = "{{ object.company_id.name }}: payment reminder"
SMS_BODY = (
    "{{ object.company_id.name }}: {{ statement.amount_due_text }} of your account is overdue, the oldest item "
    "since {{ statement.date(statement.overdue[0].due_date) if statement.overdue else '' }}. Please pay or contact us."
)
OLD_MARKERS = ("collection_overdue_moves", "object.overdue_amount")


def _reset(cr, table, record_id, column, value):
    cr.execute(f'UPDATE "{table}" SET "{column}" = %s::jsonb WHERE id = %s', [json.dumps({"en_US": value}), record_id])


def migrate(cr, version):
    cr.execute(
        "SELECT name, res_id FROM ir_model_data WHERE module = 'account_collections' AND name IN %s",
        [("mail_template_collection_reminder", "sms_template_collection")],
    )
    ids = dict(cr.fetchall())
    if "mail_template_collection_reminder" in ids:
        template_id = ids["mail_template_collection_reminder"]
        cr.execute("SELECT body_html->>'en_US' FROM mail_template WHERE id = %s", [template_id])
        (body,) = cr.fetchone() or ("",)
        if body and any(marker in body for marker in OLD_MARKERS):
            _reset(cr, "mail_template", template_id, "body_html", MAIL_BODY)
            _reset(cr, "mail_template", template_id, "subject", MAIL_SUBJECT)
        else:
            _logger.info("account_collections: the payment reminder template was edited; it is kept as it is")
    if "sms_template_collection" in ids:
        cr.execute("SELECT body->>'en_US' FROM sms_template WHERE id = %s", [ids["sms_template_collection"]])
        (body,) = cr.fetchone() or ("",)
        if body and "object.overdue_amount" in body:
            _reset(cr, "sms_template", ids["sms_template_collection"], "body", SMS_BODY)
