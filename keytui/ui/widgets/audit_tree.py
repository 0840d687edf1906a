"""The audit's results grouped by check: one row per check (status mark, id, severity, title, what it found),
its findings below it (severity, resource, detail; muted ones dimmed with the mute's reason).

Rows are cut to the tree's width with an ellipsis rather than scrolled sideways: the detail pane beside the
tree shows everything about the selected row. A refresh keeps the cursor on the same row (check id, resource)
or, when that finding is gone (fixed), on its neighbour in the same check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from keytui.core.audit.model import AuditReport, CheckResult, Finding, Severity, Status
from keytui.core.audit.report import status_line
from keytui.core.masking import mask_key_id

# status -> (mark, theme variable of its colour)
MARKS = {
    Status.PASS: ("✓", "success"),
    Status.FAIL: ("✗", "error"),
    Status.WARN: ("!", "warning"),
    Status.UNKNOWN: ("?", "warning"),
    Status.NOT_RUN: ("-", ""),
}
SEVERITY_COLOURS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "",
    Severity.INFO: "",
}
_KEY_ID = re.compile(r"\b((?:AKIA|ASIA)[A-Z0-9]{16})\b")


def masked(text: str) -> str:
    """Any full access key id in `text` (e.g. in a fix's calls) masked as everywhere else on screen."""
    return _KEY_ID.sub(lambda match: mask_key_id(match.group(1)), text)


RowKey = tuple[str, str | None]  # (check id, finding resource or None for the check's own row)


@dataclass(frozen=True)
class AuditRow:
    result: CheckResult
    finding: Finding | None = None

    @property
    def key(self) -> RowKey:
        return (self.result.check.id, self.finding.resource if self.finding else None)


class AuditTree(Tree[AuditRow]):
    ICON_NODE = "▶ "
    ICON_NODE_EXPANDED = "▼ "

    def __init__(self, **kwargs: object) -> None:
        super().__init__("audit", **kwargs)  # type: ignore[arg-type]
        self.show_root = False
        self.guide_depth = 3
        self._collapsed: set[str] = set()  # checks the user folded: they stay folded across refreshes
        self._shown = False

    # -- content -------------------------------------------------------------------------------------------

    def show(self, report: AuditReport) -> None:
        """Show `report`, keeping folds and the cursor's row (or its nearest neighbour)."""
        if self._shown:
            self._collapsed = {n.data.result.check.id for n in self.root.children if n.data and n.is_collapsed
                               and n.children}
        self._shown = True
        wanted = self.selected_row.key if self.selected_row else None
        neighbour = self._neighbour_keys()
        # Off the old nodes first: the tree would otherwise keep pointing at a node of the old report when the
        # new cursor line happens to be the same number.
        self.cursor_line = -1
        self.clear()
        for result in report.results:
            check_id = result.check.id
            node = self.root.add("", data=AuditRow(result), expand=check_id not in self._collapsed)
            node.allow_expand = bool(result.findings)
            for finding in result.findings:
                node.add_leaf("", data=AuditRow(result, finding))
        target = None
        for key in ([wanted] if wanted else []) + neighbour:
            target = self.node_for(key)
            if target is not None:
                break
        self._move_to(target or (self.root.children[0] if self.root.children else None))

    def _neighbour_keys(self) -> list[RowKey]:
        """Where the cursor goes if its row disappears: the next finding of the same check, the previous one,
        then the check itself."""
        node = self.cursor_node
        if node is None or node.data is None or node.data.finding is None or node.parent is None:
            return []
        siblings = list(node.parent.children)
        index = siblings.index(node)
        order = siblings[index + 1:] + list(reversed(siblings[:index]))
        return [s.data.key for s in order if s.data] + [(node.data.result.check.id, None)]

    def node_for(self, key: RowKey) -> TreeNode[AuditRow] | None:
        for check in self.root.children:
            if check.data is None or check.data.result.check.id != key[0]:
                continue
            if key[1] is None:
                return check
            return next((n for n in check.children if n.data and n.data.key == key), None)
        return None

    def select_row(self, key: RowKey) -> bool:
        node = self.node_for(key)
        if node is None:
            return False
        self._move_to(node)
        return True

    def _move_to(self, node: TreeNode[AuditRow] | None) -> None:
        if node is None:
            return
        if node.parent is not None and node.parent.is_collapsed and node.parent is not self.root:
            node.parent.expand()
        _ = self.last_line  # lays the lines out now (the tree otherwise does it on idle) so the node has one
        self.move_cursor(node, animate=False)

    @property
    def selected_row(self) -> AuditRow | None:
        node = self.cursor_node
        return node.data if node is not None else None

    def toggle_all(self) -> None:
        checks = [n for n in self.root.children if n.children]
        if any(n.is_expanded for n in checks):
            # Folding moves the cursor to its check, so it stays on something visible.
            node = self.cursor_node
            for n in checks:
                n.collapse()
            if node is not None and node.parent is not None and node.parent is not self.root:
                self._move_to(node.parent)
        else:
            for n in checks:
                n.expand()

    # -- rendering -----------------------------------------------------------------------------------------

    def _colour(self, variable: str) -> str:
        return self.app.theme_variables.get(variable, "") if variable else ""

    def _width(self, node: TreeNode[AuditRow]) -> int:
        width = self.scrollable_content_region.width
        if width <= 0:
            width = 200
        depth = 0 if node.parent is None or node.parent is self.root else 1
        return max(10, width - depth * self.guide_depth)

    def render_label(self, node: TreeNode[AuditRow], base_style: Style, style: Style) -> Text:
        row = node.data
        if row is None:
            return super().render_label(node, base_style, style)
        text = self.check_text(row.result, node) if row.finding is None else self.finding_text(row.finding)
        width = self._width(node)
        text.truncate(width, overflow="ellipsis", pad=True)
        text.stylize(style)
        return text

    def check_text(self, result: CheckResult, node: TreeNode[AuditRow] | None = None) -> Text:
        status = result.effective_status
        mark, colour = MARKS[status]
        icon = "  "
        if node is not None and node.allow_expand:
            icon = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
        check = result.check
        severity = check.severity
        return Text.assemble(
            (icon, "dim"),
            (mark, f"bold {self._colour(colour)}".strip()),
            " ",
            (f"{check.id:<16}", "bold"),
            " ",
            (f"{severity.label:<9}", self._colour(SEVERITY_COLOURS[severity]) or "dim"),
            check.title,
            (" — ", "dim"),
            (status_line(result), self._colour("warning") if status is Status.UNKNOWN else "dim"),
        )

    def finding_text(self, finding: Finding) -> Text:
        severity = finding.severity
        if finding.muted is not None:
            return Text.assemble(
                (f"{severity.label:<9}", "dim"),
                (masked(finding.resource), "dim bold"),
                (f" — muted: {finding.muted}", "dim italic"),
            )
        return Text.assemble(
            (f"{severity.label:<9}", self._colour(SEVERITY_COLOURS[severity]) or "dim"),
            (masked(finding.resource), "bold"),
            (" — ", "dim"),
            masked(finding.detail),
        )
