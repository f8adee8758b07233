/** @odoo-module **/
/* The cases' kanban: each column's total of the amounts to collect, with their currency. */

import { getCurrency } from "@web/core/currency";
import { registry } from "@web/core/registry";
import { KanbanHeader } from "@web/views/kanban/kanban_header";
import { KanbanRenderer } from "@web/views/kanban/kanban_renderer";
import { kanbanView } from "@web/views/kanban/kanban_view";

export class CollectionCaseKanbanHeader extends KanbanHeader {
    /** Odoo's column total, with the currency when every case of the column has the same one. */
    get groupAggregate() {
        const aggregate = super.groupAggregate;
        const sumField = this.props.progressBarState?.progressAttributes.sumField;
        if (!sumField || sumField.type !== "monetary") {
            return aggregate;
        }
        const currencyField = sumField.currency_field || "currency_id";
        const currencyIds = new Set(
            this.group.list.records.map((record) => record.data[currencyField]?.[0])
        );
        const [currencyId] = currencyIds;
        const currency = currencyIds.size === 1 && currencyId ? getCurrency(currencyId) : false;
        return { ...aggregate, currency: currency || false };
    }
}

export class CollectionCaseKanbanRenderer extends KanbanRenderer {
    static components = { ...KanbanRenderer.components, KanbanHeader: CollectionCaseKanbanHeader };
}

export const collectionCaseKanbanView = { ...kanbanView, Renderer: CollectionCaseKanbanRenderer };

registry.category("views").add("collection_case_kanban", collectionCaseKanbanView);
