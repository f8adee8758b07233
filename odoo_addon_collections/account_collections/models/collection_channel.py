from odoo import fields, models

from .collection_level import CHANNEL_SELECTION


class CollectionChannel(models.Model):
    """A channel of the engine as a record, so that lists show a level's channels as coloured tags.

    Reference data: one record per engine channel, created with the addon; the levels keep their
    ``use_<channel>`` booleans, which the policy document reads.
    """

    _name = "collection.channel"
    _description = "Collection Channel"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    key = fields.Selection(CHANNEL_SELECTION, required=True, readonly=True)
    sequence = fields.Integer(default=10)
    color = fields.Integer()

    _sql_constraints = [
        ("key_uniq", "unique(key)", "One record per channel."),
    ]
