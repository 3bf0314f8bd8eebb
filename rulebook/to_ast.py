"""Lowering of lark parse trees into the AST (``rulebook.syntax``).

Input: a ``lark.Tree`` for one item, with positions relative to the item's text.
Output: one ``syntax.Item`` with absolute spans, plus ``bad-literal`` diagnostics for literals
the grammar accepts but that are malformed (a month 13, a code of the wrong length …).

One explicit method per tree shape, dispatched by the tree's ``data`` (lark's own
``ast_utils`` is avoided on purpose: it silently merges same-named methods).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import ClassVar

from lark import Token, Tree

from rulebook import syntax as s
from rulebook.diagnostics import Diagnostic, error
from rulebook.spans import Span

PTree = Tree[Token]
Node = PTree | Token


def _unquote(token: Token) -> str:
    text = str(token)[1:-1]
    return text.replace('\\"', '"').replace("\\\\", "\\")


class AstBuilder:
    """Builds AST nodes from a parse tree; collects literal diagnostics on the way."""

    def __init__(self, path: str, line_offset: int) -> None:
        self.path = path
        self.offset = line_offset
        self.diagnostics: list[Diagnostic] = []
        self._exprs: dict[str, Callable[[PTree], s.Expr]] = {
            "if_expr": self._if,
            "or_op": self._logic("or"),
            "and_op": self._logic("and"),
            "not_op": self._not,
            "compare": self._compare,
            "member": self._member(False),
            "not_member": self._member(True),
            "arith": self._arith,
            "neg": self._neg,
            "slice": self._slice,
            "record_text": self._record_text,
            "int_lit": self._literal,
            "percent_lit": self._literal,
            "str_lit": self._literal,
            "date_value": self._literal,
            "true_lit": self._literal,
            "false_lit": self._literal,
            "today_lit": self._literal,
            "name": self._name,
            "rec_ref": self._ref,
            "prev_ref": self._ref,
            "next_ref": self._ref,
            "prev_of_ref": self._ref,
            "this_ref": self._ref,
            "call": self._call,
            "aggregate": self._aggregate,
        }

    # ------------------------------------------------------------------ positions

    def span(self, node: Node) -> Span:
        if isinstance(node, Token):
            line = (node.line or 1) + self.offset
            col = node.column or 1
            end_line = (node.end_line or node.line or 1) + self.offset
            end_col = node.end_column or col + len(str(node))
            return Span(
                file=self.path, line=line, column=col, end_line=end_line, end_column=end_col
            )
        meta = node.meta
        if getattr(meta, "empty", True):
            return Span.point(self.path, self.offset + 1, 1)
        return Span(
            file=self.path,
            line=meta.line + self.offset,
            column=meta.column,
            end_line=meta.end_line + self.offset,
            end_column=meta.end_column,
        )

    def bad(self, message: str, node: Node) -> None:
        self.diagnostics.append(error("bad-literal", message, self.span(node)))

    # ------------------------------------------------------------------ small helpers

    @staticmethod
    def _tokens(tree: PTree, kind: str | None = None) -> list[Token]:
        return [
            c for c in tree.children if isinstance(c, Token) and (kind is None or c.type == kind)
        ]

    @staticmethod
    def _trees(tree: PTree, data: str | None = None) -> list[PTree]:
        return [
            c for c in tree.children if isinstance(c, Tree) and (data is None or c.data == data)
        ]

    def _int(self, token: Token) -> int:
        text = str(token)
        if not text.isdigit():
            self.bad(f"{text!r} is not a whole number", token)
            return 0
        return int(text)

    def _labels(self, tree: PTree | None) -> s.Labels:
        if tree is None:
            return s.Labels()
        strings = [_unquote(t) for t in self._tokens(tree, "STRING")]
        return s.Labels(fr=strings[0], nl=strings[1] if len(strings) > 1 else None)

    def _first(self, tree: PTree, data: str) -> PTree | None:
        found = self._trees(tree, data)
        return found[0] if found else None

    def _date(self, token: Token) -> s.DateLit:
        text = str(token)
        try:
            if token.type == "DATE":
                value = dt.date.fromisoformat(text)
                return s.DateLit(value=value, month_only=False, span=self.span(token))
            year, month = text.split("-")
            return s.DateLit(
                value=dt.date(int(year), int(month), 1), month_only=True, span=self.span(token)
            )
        except ValueError:
            self.bad(f"{text!r} is not a valid date or month", token)
            return s.DateLit(value=dt.date(1900, 1, 1), month_only=True, span=self.span(token))

    def _date_lit(self, tree: PTree) -> s.DateLit:
        token = self._tokens(tree)[0]
        return self._date(token)

    def _code(self, tree: PTree) -> str:
        token = self._tokens(tree)[0]
        text = str(token)
        if token.type == "NUM" and (len(text) != 6 or not text[:4].isdigit()):
            self.bad(f"{text!r} is not an official code (six characters RRZZNN)", token)
        return text

    def _period(self, parts: list[PTree], span: Span) -> s.Period:
        start = end = None
        for part in parts:
            date = self._date_lit(self._trees(part)[0])
            if part.data == "period_from":
                start = date
            else:
                end = date
        return s.Period(start=start, end=end, span=span)

    def _zone_id(self, tree: PTree) -> str:
        parts: list[str] = []
        for child in tree.children:
            parts.append(str(child.children[0]) if isinstance(child, Tree) else str(child))
        return "".join(parts)

    def _note(self, tree: PTree) -> str | None:
        note = self._first(tree, "note")
        return _unquote(self._tokens(note, "STRING")[0]) if note is not None else None

    # ------------------------------------------------------------------ items

    def build(self, tree: PTree) -> s.Item | None:
        item = tree.children[0]
        assert isinstance(item, Tree)
        method = getattr(self, f"_item_{item.data}", None)
        if method is None:  # pragma: no cover - grammar and builder out of sync
            raise AssertionError(f"no AST builder for {item.data}")
        result: s.Item = method(item)
        return result

    def _item_codes_import(self, tree: PTree) -> s.CodesImport:
        return s.CodesImport(path=_unquote(self._tokens(tree, "STRING")[0]), span=self.span(tree))

    def _item_release(self, tree: PTree) -> s.ReleaseDecl:
        dates = self._trees(tree, "date_lit")
        return s.ReleaseDecl(
            version=str(self._tokens(tree, "VERSION")[0]),
            published=self._date_lit(dates[0]),
            applies=self._date_lit(dates[1]),
            labels=self._labels(self._first(tree, "labels")),
            span=self.span(tree),
        )

    def _item_code_decl(self, tree: PTree) -> s.CodeDecl:
        reports = self._first(tree, "reports")
        return s.CodeDecl(
            code=self._code(self._trees(tree, "code")[0]),
            letter=str(self._trees(tree, "letter")[0].children[0]),
            labels=self._labels(self._first(tree, "labels")),
            reports=str(reports.children[0]) if reports is not None else None,
            note=self._note(tree),
            span=self.span(tree),
        )

    def _item_layout(self, tree: PTree) -> s.LayoutDecl:
        kind = str(self._trees(tree, "layout_kind")[0].children[0])
        key = self._first(tree, "key")
        at = self._first(tree, "at")
        zones = tuple(self._zone(z) for z in self._trees(tree, "zone"))
        pairs: list[tuple[str, str]] = []
        for clause in self._trees(tree, "error_pairs"):
            for pair in self._trees(clause, "error_pair"):
                letter, code = self._tokens(pair, "NAME")
                pairs.append((str(letter), str(code)))
        roles = tuple(
            (str(r.children[0].children[0]), str(self._tokens(r, "NAME")[0]))  # type: ignore[union-attr]
            for r in self._trees(tree, "role")
        )
        copies = tuple(
            s.CopyDecl(
                zone=str(self._tokens(c, "NAME")[0]),
                record=str(self._tokens(c, "RECNAME")[0]),
                source=str(self._tokens(c, "NAME")[1]),
                span=self.span(c),
            )
            for c in self._trees(tree, "copy")
        )
        settles = tuple(
            s.SettleDecl(
                kind=str(c.children[0].children[0]),  # type: ignore[union-attr]
                account=_unquote(self._tokens(c, "STRING")[0])
                if self._tokens(c, "STRING")
                else None,
                zone=str(self._tokens(c, "NAME")[0]),
                span=self.span(c),
            )
            for c in self._trees(tree, "settle")
        )
        return s.LayoutDecl(
            kind=kind,
            name=str(self._tokens(tree, "RECNAME")[0]),
            labels=self._labels(self._first(tree, "labels")),
            length=self._int(self._tokens(tree, "NUM")[0]),
            key=_unquote(key.children[0]) if key is not None else None,  # type: ignore[arg-type]
            zones=zones,
            note=self._note(tree),
            at=self._int(self._tokens(at, "NUM")[0]) if at is not None else 1,
            pairs=tuple(pairs),
            roles=roles,
            copies=copies,
            settles=settles,
            span=self.span(tree),
        )

    def _zone(self, tree: PTree) -> s.ZoneDecl:
        nums = self._tokens(tree, "NUM")
        ids = self._trees(tree, "zone_id")
        return s.ZoneDecl(
            zone_id=self._zone_id(ids[0]),
            name=str(self._tokens(tree, "NAME")[0]),
            type=str(self._trees(tree, "ztype")[0].children[0]),
            length=self._int(nums[0]),
            start=self._int(nums[1]),
            labels=self._labels(self._first(tree, "labels")),
            reports=self._zone_id(ids[1]) if len(ids) > 1 else None,
            span=self.span(tree),
        )

    def _item_message(self, tree: PTree) -> s.MessageDecl:
        segments: tuple[str, ...] = ()
        length = 0
        productions: list[s.Production] = []
        block: str | None = None
        echo: list[s.EchoDecl] = []
        answers: s.AnswersDecl | None = None
        for clause in self._trees(tree):
            if clause.data == "echo_block":
                block = str(self._tokens(clause, "RECNAME")[0])
            elif clause.data == "echo":
                for item in self._trees(clause, "echo_item"):
                    when = self._trees(item, "echo_when")[0]
                    echo.append(
                        s.EchoDecl(
                            names=tuple(str(t) for t in self._tokens(item)),
                            always=str(when.children[0]) == "always",
                            span=self.span(item),
                        )
                    )
            elif clause.data in ("answers", "acknowledges", "settles"):
                cases = tuple(
                    (
                        str(self._tokens(case, "NAME")[0]),
                        str(self._tokens(case, "NUM")[0]) if self._tokens(case, "NUM") else None,
                    )
                    for case in self._trees(clause, "answer_case")
                )
                answers = s.AnswersDecl(
                    kind=str(clause.data),
                    message=str(self._tokens(clause, "NUM")[0]),
                    cases=cases,
                    span=self.span(clause),
                )
            elif clause.data == "segments":
                segments = tuple(str(t) for t in self._tokens(clause, "RECNAME"))
            elif clause.data == "record_length":
                length = self._int(self._tokens(clause, "NUM")[0])
            elif clause.data == "production":
                name = str(self._tokens(clause, "NAME")[0])
                seq = self._trees(clause, "struct_seq")[0]
                productions.append(
                    s.Production(name=name, items=self._struct_seq(seq), span=self.span(clause))
                )
        return s.MessageDecl(
            name=str(self._tokens(tree, "NUM")[0]),
            labels=self._labels(self._first(tree, "labels")),
            segments=segments,
            record_length=length,
            productions=tuple(productions),
            block=block,
            echo=tuple(echo),
            answers=answers,
            span=self.span(tree),
        )

    def _item_question(self, tree: PTree) -> s.QuestionDecl:
        answer = self._first(tree, "q_answer")
        codes = [
            self._code(c)
            for clause in self._trees(tree, "q_rules")
            for c in self._trees(clause, "code")
        ]
        return s.QuestionDecl(
            labels=self._labels(self._first(tree, "labels")),
            answer=self._labels(self._first(answer, "labels"))
            if answer is not None
            else s.Labels(),
            codes=tuple(codes),
            note=self._note(tree),
            span=self.span(tree),
        )

    def _item_tolerance(self, tree: PTree) -> s.ToleranceDecl:
        def labels(clause: str) -> s.Labels:
            found = self._first(tree, clause)
            return self._labels(self._first(found, "labels")) if found else s.Labels()

        def names(clause: str) -> tuple[str, ...]:
            return tuple(str(t) for c in self._trees(tree, clause) for t in self._tokens(c, "NAME"))

        return s.ToleranceDecl(
            labels=self._labels(self._first(tree, "labels")),
            reading=labels("t_reading"),
            evidence=labels("t_evidence"),
            codes=tuple(
                self._code(c)
                for clause in self._trees(tree, "t_rules")
                for c in self._trees(clause, "code")
            ),
            functions=names("t_functions"),
            params=names("t_parameters"),
            note=self._note(tree),
            span=self.span(tree),
        )

    def _item_amounts(self, tree: PTree) -> s.AmountsDecl:
        by = self._first(tree, "amounts_by")
        lines = self._first(tree, "amounts_lines")
        accounts = tuple(
            s.AccountDecl(
                name=_unquote(self._tokens(a, "STRING")[0]),
                value=self._int(self._tokens(a, "NUM")[0]),
                labels=self._labels(self._first(a, "labels")),
                span=self.span(a),
            )
            for a in self._trees(tree, "amounts_account")
        )
        line_names = self._tokens(lines, "NAME") if lines is not None else []
        return s.AmountsDecl(
            labels=self._labels(self._first(tree, "labels")),
            by_record=str(self._tokens(by, "RECNAME")[0]) if by is not None else "",
            by_zone=str(self._tokens(by, "NAME")[0]) if by is not None else "",
            lines=tuple(str(r) for r in self._tokens(lines, "RECNAME")) if lines else (),
            amount=str(line_names[0]) if line_names else "",
            account=str(line_names[1]) if line_names else "",
            accounts=accounts,
            note=self._note(tree),
            span=self.span(tree),
        )

    def _struct_seq(self, tree: PTree) -> tuple[s.StructItem, ...]:
        return tuple(self._struct_item(c) for c in self._trees(tree))

    def _repeat(self, tree: PTree) -> str:
        rep = self._first(tree, "repeat")
        return str(rep.children[0]) if rep is not None else ""

    def _struct_item(self, tree: PTree) -> s.StructItem:
        if tree.data == "struct_ref":
            name = str(self._tokens(tree)[0])
            return s.StructRef(name=name, repeat=self._repeat(tree), span=self.span(tree))
        options = tuple(self._struct_seq(seq) for seq in self._trees(tree, "struct_seq"))
        return s.StructAlt(options=options, repeat=self._repeat(tree), span=self.span(tree))

    def _item_table(self, tree: PTree) -> s.TableDecl:
        versions = []
        for clause in self._trees(tree, "table_version"):
            parts = [c for c in self._trees(clause) if c.data.startswith("period_")]
            values = tuple(self._literal(c) for c in self._trees(clause) if c not in parts)
            versions.append(
                s.TableVersion(
                    period=self._period(parts, self.span(clause)),
                    values=values,
                    span=self.span(clause),
                )
            )
        return s.TableDecl(
            name=str(self._tokens(tree, "NAME")[0]),
            labels=self._labels(self._first(tree, "labels")),
            versions=tuple(versions),
            note=self._note(tree),
            span=self.span(tree),
        )

    def _item_parameter(self, tree: PTree) -> s.ParamDecl:
        versions = []
        choices: tuple[s.Literal, ...] | None = None
        for clause in self._trees(tree):
            if clause.data == "param_version":
                parts = [c for c in self._trees(clause) if c.data.startswith("period_")]
                value = next(c for c in self._trees(clause) if c not in parts)
                versions.append(
                    s.ParamVersion(
                        period=self._period(parts, self.span(clause)),
                        value=self._literal(value),
                        span=self.span(clause),
                    )
                )
            elif clause.data == "choices":
                choices = tuple(self._literal(c) for c in self._trees(clause))
        return s.ParamDecl(
            name=str(self._tokens(tree, "NAME")[0]),
            labels=self._labels(self._first(tree, "labels")),
            choices=choices,
            versions=tuple(versions),
            note=self._note(tree),
            span=self.span(tree),
        )

    def _item_charmap(self, tree: PTree) -> s.CharmapDecl:
        entries = []
        other = 0
        for clause in self._trees(tree):
            if clause.data == "char_range":
                strings = [_unquote(t) for t in self._tokens(clause, "STRING")]
                value = self._int(self._tokens(clause, "NUM")[0])
                lo = strings[0]
                hi = strings[1] if len(strings) > 1 else strings[0]
                if len(lo) != 1 or len(hi) != 1:
                    self.bad("a character map range is made of single characters", clause)
                    continue
                entries.append(s.CharmapEntry(lo=lo, hi=hi, value=value, span=self.span(clause)))
            elif clause.data == "char_other":
                other = self._int(self._tokens(clause, "NUM")[0])
        return s.CharmapDecl(
            name=str(self._tokens(tree, "NAME")[0]),
            labels=self._labels(self._first(tree, "labels")),
            entries=tuple(entries),
            other=other,
            span=self.span(tree),
        )

    def _item_date_decl(self, tree: PTree) -> s.DateDecl:
        expr_tree = tree.children[-1]
        return s.DateDecl(
            name=str(self._tokens(tree, "NAME")[0]),
            labels=self._labels(self._first(tree, "labels")),
            expr=self.expr(expr_tree),
            default=self._first(tree, "default_kw") is not None,
            span=self.span(tree),
        )

    def _item_derive_zone(self, tree: PTree) -> s.DeriveZone:
        return s.DeriveZone(
            record=str(self._tokens(tree, "RECNAME")[0]),
            zone=str(self._tokens(tree, "NAME")[0]),
            expr=self.expr(tree.children[-1]),
            span=self.span(tree),
        )

    def _item_derive_records(self, tree: PTree) -> s.DeriveRecords:
        records = self._tokens(tree, "RECNAME")
        names = self._tokens(tree, "NAME")
        return s.DeriveRecords(
            record=str(records[0]),
            source=str(records[1]),
            source_zone=str(names[0]),
            zone=str(names[1]),
            span=self.span(tree),
        )

    def _item_rule(self, tree: PTree) -> s.RuleDecl | None:
        letter_tree = self._first(tree, "letter")
        heads = [c for c in self._trees(tree) if c.data.startswith("period_")]
        governed = self._first(tree, "governed_by")
        labels_fr = self._first(tree, "label_fr")
        labels_nl = self._first(tree, "label_nl")
        when = self._first(tree, "when")
        require = self._first(tree, "require")
        fills = self._first(tree, "fills")
        fill_ref: s.Ref | s.Name | None = None
        if fills is not None:
            ref = self.expr(fills.children[0])
            if isinstance(ref, s.Ref | s.Name):
                fill_ref = ref
            else:
                self.diagnostics.append(error("bad-fill", "'fills' names a zone", self.span(fills)))
        if require is None:
            self.diagnostics.append(
                error("unexpected-end", "a rule needs a 'require' clause", self.span(tree))
            )
            return None
        return s.RuleDecl(
            code=self._code(self._trees(tree, "code")[0]),
            letter=str(letter_tree.children[0]) if letter_tree is not None else None,
            record=str(self._tokens(tree, "RECNAME")[0]),
            zone=self._zone_id(self._trees(tree, "zone_id")[0]),
            period=self._period(heads, self.span(tree)),
            governed_by=str(governed.children[0]) if governed is not None else None,
            per_sending=self._first(tree, "per_sending") is not None,
            labels=s.Labels(
                fr=_unquote(labels_fr.children[0]) if labels_fr is not None else None,  # type: ignore[arg-type]
                nl=_unquote(labels_nl.children[0]) if labels_nl is not None else None,  # type: ignore[arg-type]
            ),
            when=self.expr(when.children[0]) if when is not None else None,
            require=self.expr(require.children[0]),
            fills=fill_ref,
            mutants=tuple(self._mutant(m) for m in self._trees(tree, "mutant")),
            note=self._note(tree),
            span=self.span(tree),
        )

    def _mutant(self, tree: PTree) -> s.Mutant:
        names = self._tokens(tree, "NAME")
        ops = []
        for op in self._trees(tree):
            if op.data in ("set_op", "raw_op", "delete_op", "duplicate_op"):
                ops.append(self._mutation(op))
        return s.Mutant(
            scenario=str(names[0]) if names else None,
            ops=tuple(ops),
            also=tuple(self._code(c) for c in self._trees(tree, "code")),
            span=self.span(tree),
        )

    def _mutation(self, tree: PTree) -> s.MutationOp:
        target_tree = self._trees(tree, "target")[0]
        occ = self._tokens(target_tree, "NUM")
        zone = self._tokens(target_tree, "NAME")
        target = s.Target(
            record=str(self._tokens(target_tree, "RECNAME")[0]),
            occurrence=self._int(occ[0]) if occ else 1,
            zone=str(zone[0]) if zone else None,
            span=self.span(target_tree),
        )
        op = tree.data.removesuffix("_op")
        value: s.Literal | None = None
        if op == "set":
            last = tree.children[-1]
            assert isinstance(last, Tree)
            if last.data == "neg_int_lit":
                token = last.children[0]
                assert isinstance(token, Token)
                value = s.Literal(kind="int", value=-self._int(token), span=self.span(last))
            else:
                value = self._literal(last)
        elif op == "raw":
            token = tree.children[-1]
            assert isinstance(token, Token)
            value = s.Literal(kind="str", value=_unquote(token), span=self.span(token))
        return s.MutationOp(op=op, target=target, value=value, span=self.span(tree))

    # ------------------------------------------------------------------ expressions

    def expr(self, node: Node) -> s.Expr:
        if isinstance(node, Token):  # a bare NAME reduced without a tree
            return s.Name(name=str(node), span=self.span(node))
        handler = self._exprs.get(node.data)
        if handler is None:  # pragma: no cover - grammar and builder out of sync
            raise AssertionError(f"no AST builder for expression {node.data}")
        return handler(node)

    def _if(self, tree: PTree) -> s.Expr:
        c, a, b = (self.expr(x) for x in tree.children)
        return s.IfExpr(cond=c, then=a, other=b, span=self.span(tree))

    def _logic(self, op: str) -> Callable[[PTree], s.Expr]:
        def build(tree: PTree) -> s.Expr:
            left, right = (self.expr(x) for x in tree.children)
            return s.Binary(op=op, left=left, right=right, span=self.span(tree))

        return build

    def _not(self, tree: PTree) -> s.Expr:
        return s.Unary(op="not", operand=self.expr(tree.children[0]), span=self.span(tree))

    _CMP: ClassVar[dict[str, str]] = {"≠": "!=", "≤": "<=", "≥": ">="}

    def _compare(self, tree: PTree) -> s.Expr:
        left, op_tree, right = tree.children
        assert isinstance(op_tree, Tree)
        op = str(op_tree.children[0])
        return s.Binary(
            op=self._CMP.get(op, op),
            left=self.expr(left),
            right=self.expr(right),
            span=self.span(tree),
        )

    def _member(self, negated: bool) -> Callable[[PTree], s.Expr]:
        def build(tree: PTree) -> s.Expr:
            operand, set_tree = tree.children
            assert isinstance(set_tree, Tree)
            if set_tree.data == "value_set":
                values = tuple(self._literal(c) for c in set_tree.children)  # type: ignore[arg-type]
                return s.Membership(
                    operand=self.expr(operand),
                    values=values,
                    table=None,
                    negated=negated,
                    span=self.span(tree),
                )
            return s.Membership(
                operand=self.expr(operand),
                values=None,
                table=str(set_tree.children[0]),
                negated=negated,
                span=self.span(tree),
            )

        return build

    def _arith(self, tree: PTree) -> s.Expr:
        left, op_tree, right = tree.children
        assert isinstance(op_tree, Tree)
        return s.Binary(
            op=str(op_tree.children[0]),
            left=self.expr(left),
            right=self.expr(right),
            span=self.span(tree),
        )

    def _neg(self, tree: PTree) -> s.Expr:
        return s.Unary(op="-", operand=self.expr(tree.children[0]), span=self.span(tree))

    def _slice(self, tree: PTree) -> s.Expr:
        operand = self.expr(tree.children[0])
        nums = [self._int(t) for t in tree.children[1:] if isinstance(t, Token)]
        lo = nums[0]
        hi = nums[1] if len(nums) > 1 else nums[0]
        return s.Slice(operand=operand, lo=lo, hi=hi, span=self.span(tree))

    def _record_text(self, tree: PTree) -> s.Expr:
        lo, hi = (self._int(t) for t in self._tokens(tree, "NUM"))
        return s.RecordText(lo=lo, hi=hi, span=self.span(tree))

    def _literal(self, tree: PTree) -> s.Literal:
        span = self.span(tree)
        kind = tree.data
        if kind == "true_lit":
            return s.Literal(kind="bool", value=True, span=span)
        if kind == "false_lit":
            return s.Literal(kind="bool", value=False, span=span)
        if kind == "today_lit":
            return s.Literal(kind="today", value=None, span=span)
        token = tree.children[0]
        assert isinstance(token, Token)
        if kind == "str_lit":
            return s.Literal(kind="str", value=_unquote(token), span=span)
        if kind == "date_value":
            date = self._date(token)
            return s.Literal(kind="date", value=date.value, span=span)
        if kind == "percent_lit":
            return s.Literal(kind="percent", value=self._int(token), span=span)
        return s.Literal(kind="int", value=self._int(token), span=span)

    def _name(self, tree: PTree) -> s.Expr:
        return s.Name(name=str(tree.children[0]), span=self.span(tree))

    def _ref(self, tree: PTree) -> s.Expr:
        context = {
            "rec_ref": "record",
            "prev_ref": "previous",
            "next_ref": "next",
            "prev_of_ref": "previous_of",
            "this_ref": "this",
        }[tree.data]
        record = self._tokens(tree, "RECNAME")
        return s.Ref(
            context=context,
            record=str(record[0]) if record else None,
            zone=str(self._tokens(tree, "NAME")[0]),
            span=self.span(tree),
        )

    def _call(self, tree: PTree) -> s.Expr:
        func = str(tree.children[0])
        args = tuple(self.expr(c) for c in tree.children[1:] if c is not None)
        return s.Call(func=func, args=args, span=self.span(tree))

    def _aggregate(self, tree: PTree) -> s.Expr:
        func = str(self._trees(tree, "agg_func")[0].children[0])
        value = self._first(tree, "agg_value")
        where = self._first(tree, "agg_where")
        scope = self._first(tree, "agg_scope")
        return s.Aggregate(
            func=func,
            sources=tuple(str(t) for t in self._tokens(tree, "RECNAME")),
            value=self.expr(value.children[0]) if value is not None else None,
            where=self.expr(where.children[0]) if where is not None else None,
            scope=str(scope.children[0]) if scope is not None else "sending",
            span=self.span(tree),
        )
