"""JSON-RPC probes: call ``/web/dataset/call_kw`` as a real client (odoorpc, the web client) does, as one
role after another, and check that every refusal is a clean Odoo error that changed nothing.

A probe is one call of one method (or one write of one field) by one role with one context. The class
counts the probes it tried, the refusals and the allowed calls, and logs the counts when it ends.
Whether a probe is allowed comes from an explicit allow-list of (role, model, method) patterns; every
other probe must be refused. Allowed probes run too (the allow-list must not go stale), inside a
savepoint that is rolled back, so every probe starts from the same database.
"""

import datetime
import fnmatch
import inspect
import itertools
import json
import logging

from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user
from odoo.tools import mute_logger

_logger = logging.getLogger(__name__)

CROWD_MODULES = ("crowd_service", "crowd_service_portal", "crowd_service_payout")
# errors a refusal may come back as (JSON ``error.data.name``)
REFUSALS = {
    "odoo.exceptions.AccessError",
    "odoo.exceptions.MissingError",
    "odoo.exceptions.UserError",
    "odoo.exceptions.ValidationError",
    "odoo.exceptions.RedirectWarning",
}
ORM_METHODS = ("create", "write", "copy", "unlink")
MAGIC_FIELDS = {"id", "display_name", "create_uid", "create_date", "write_uid", "write_date", "__last_update"}
SKIPPED_FIELD_TYPES = {"binary", "properties", "properties_definition", "reference", "many2one_reference"}
# Tables hashed row by row before and after every probe (with every table whose name starts with
# crowd_), and big tables of which the row count and the last id and write date are compared.
WATCHED_TABLES = (
    "maintenance_request",
    "maintenance_equipment",
    "maintenance_equipment_category",
    "res_partner",
    "res_company",
    "res_users",
    "rating_rating",
)
COUNTED_TABLES = (
    "mail_message",
    "mail_followers",
    "mail_activity",
    "ir_attachment",
    "res_config_settings",
    "ir_config_parameter",
    "bus_bus",
)


def public_crowd_methods(model, modules=CROWD_MODULES):
    """Names of the public methods the addons ``modules`` define on ``model``, ORM CRUD excluded (probed
    apart)."""
    model_cls = type(model)
    names = set()
    for klass in model_cls.mro():
        if not klass.__module__.startswith(tuple(f"odoo.addons.{m}." for m in modules)):
            continue
        for name, value in vars(klass).items():
            if not name.startswith("_") and callable(value) and name not in ORM_METHODS:
                names.add(name)
    return sorted(names)


def writable_fields(model, crowd_only=False, modules=CROWD_MODULES):
    """Fields a client can send in ``write``: stored or inverse fields that are not computed-readonly."""
    result = []
    for name, field in model._fields.items():
        if name in MAGIC_FIELDS or field.type in SKIPPED_FIELD_TYPES:
            continue
        if field.compute and field.readonly and not field.inverse:
            continue
        if not field.store and not field.inverse:
            continue
        if crowd_only and getattr(field, "_module", None) not in modules:
            continue
        result.append(name)
    return sorted(result)


def listed(entries, role, model, name, target):
    """True when an entry (roles, model glob, name globs, target globs) covers this probe; roles and
    targets may be "*"."""
    for roles, model_glob, names, targets in entries:
        if roles != "*" and role not in roles:
            continue
        if not fnmatch.fnmatchcase(model, model_glob):
            continue
        if not any(fnmatch.fnmatchcase(name, glob) for glob in names):
            continue
        if targets != "*" and not any(fnmatch.fnmatchcase(target, glob) for glob in targets):
            continue
        return True
    return False


class CrowdRpcCase(HttpCase):
    """Roles, sessions, database snapshots and probe bookkeeping for JSON-RPC security tests."""

    # the addons whose models, fields and methods a suite probes
    ADDONS = ("crowd_service",)
    # role names (keys of ``cls.users``), and the allow-list: (roles, model glob, name globs, target globs)
    ROLES = ()
    ALLOWED = []
    # entries that win over ALLOWED: what nobody writes directly whatever their access rights
    SYSTEM_ONLY = []
    # core models extended by the addons whose create is probed too
    CREATE_EXTENDED = ()
    PORTAL_PROBE_ROLE = "expert"
    INTERNAL_PROBE_ROLE = "dispatcher"

    # role -> (login, groups); portal roles get their partner set up by the subclass
    counts = None
    _digest_query = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.counts = {"tried": 0, "refused": 0, "allowed": 0, "allowed_refused": 0}
        cls.users = {}

    @classmethod
    def tearDownClass(cls):
        counts = cls.counts or {}
        _logger.info(
            "RPC suite %s: %s calls tried, %s refused as expected, %s allowed as expected "
            "(%s of them refused by a state or input check)",
            cls.__name__,
            counts.get("tried", 0),
            counts.get("refused", 0),
            counts.get("allowed", 0),
            counts.get("allowed_refused", 0),
        )
        super().tearDownClass()

    @classmethod
    def rpc_models(cls):
        """Every non-abstract model the suite's addons define, or extend with fields or public methods
        (of an extended model, only the addons' own fields and methods are probed)."""
        names = []
        for name, model_cls in sorted(cls.env.registry.items()):
            if model_cls._abstract:
                continue
            if model_cls._original_module in cls.ADDONS or cls.is_extended(name):
                names.append(name)
        return names

    @classmethod
    def is_extended(cls, name):
        """A model of another addon that the suite's addons extend."""
        if cls.env.registry[name]._original_module in cls.ADDONS:
            return False
        model = cls.env[name]
        return bool(
            public_crowd_methods(model, cls.ADDONS) or writable_fields(model, crowd_only=True, modules=cls.ADDONS)
        )

    @classmethod
    def methods_of(cls, name):
        return public_crowd_methods(cls.env[name], cls.ADDONS)

    @classmethod
    def fields_of(cls, name):
        return writable_fields(cls.env[name], crowd_only=cls.is_extended(name), modules=cls.ADDONS)

    @classmethod
    def make_user(cls, role, groups, **vals):
        login = f"rpc_{role}"
        cls.users[role] = new_test_user(cls.env, login=login, groups=groups, password=f"{login}-pw-1234", **vals)
        return cls.users[role]

    def setUp(self):
        super().setUp()
        self._openers = {}
        self._rpc_id = itertools.count(1)
        self.problems = []
        self._digest = None
        for role in self.ROLES:
            self.opener_for(role)

    # ------------------------------------------------------------------ hooks of a suite
    def targets(self):
        """model -> [(label, record)]: the records each method is called on (the first one for writes)."""
        raise NotImplementedError

    def param_values(self, model, record):
        """Values of the methods' parameters, by name."""
        raise NotImplementedError

    def forged_context(self, role):
        """The forged context keys tried with the calls."""
        raise NotImplementedError

    def company_context(self, role):
        """A context naming a company the role's user does not belong to."""
        raise NotImplementedError

    def extra_context(self, model, method):
        """Context a method needs to do anything (``default_get``'s defaults)."""
        return {}

    def field_targets(self, model, targets):
        """The records whose fields are written (the first target by default)."""
        return targets[:1]

    def allowed(self, role, model, name, target):
        return listed(self.ALLOWED, role, model, name, target) and not listed(
            self.SYSTEM_ONLY, role, model, name, target
        )

    # ------------------------------------------------------------------ the matrix

    def write_roles(self, record):
        """Roles whose access rights and record rules let them write ``record`` at all."""
        return {role for role in self.ROLES if record.with_user(self.users[role]).has_access("write")}

    def check_methods(self):
        """Every public crowd method by every role. The allowed roles call it on every target record; the
        others on the records where it goes through for an allowed role (a missing check shows there;
        elsewhere a state check refuses anyway) and on the first record, and with the forged flags on one
        of these records."""
        all_targets = self.targets()
        for model in self.rpc_models():
            methods = [*self.methods_of(model), "copy", "unlink"]
            self.assertTrue(all_targets.get(model), f"no target record for {model}: add one to the suite")
            for method in methods:
                live = set()
                calls = []
                for index, (label, record) in enumerate(all_targets[model]):
                    args = self.method_args(model, method, record.ids, self.param_values(model, record))
                    extra = self.extra_context(model, method)
                    calls.append((label, args, extra))
                    if index == 0:
                        live.add(label)
                    for role in self.ROLES:
                        if self.allowed(role, model, method, label):
                            _result, error = self.probe(
                                role, model, method, args, context=extra or None, allowed=True, label=f"{role}: {label}"
                            )
                            if not error:
                                live.add(label)
                forged_on = next(call[0] for call in reversed(calls) if call[0] in live)
                for label, args, extra in calls:
                    if label not in live:
                        continue
                    for role in self.ROLES:
                        if self.allowed(role, model, method, label):
                            continue
                        contexts = [extra or None]
                        if label == forged_on:
                            contexts.append(dict(extra, **self.forged_context(role)))
                        for context in contexts:
                            self.probe(
                                role, model, method, args, context=context, label=f"{role}: {model}.{method}({label})"
                            )
        self.assertNoProblems()

    def check_fields(self):
        """Every writable crowd field by every role. Roles whose access rights allow writing the model:
        field by field, plain and with the forged flags. The others (refused by the access rights before
        any field is looked at): every field in one write, plain and with the forged flags."""
        all_targets = self.targets()
        for model in self.rpc_models():
            names = self.fields_of(model)
            if not names:
                continue
            targets = self.field_targets(model, all_targets[model])
            for label, record in targets:
                values = {fname: self.other_value(record, fname) for fname in names}
                writers = self.write_roles(record)
                for role in self.ROLES:
                    for context in (None, self.forged_context(role)):
                        if role not in writers:
                            self.probe(
                                role,
                                model,
                                "write",
                                [record.ids, values],
                                context=context,
                                label=f"{role}: {model}.write(every field) on {label}",
                            )
                            continue
                        for fname, value in values.items():
                            allowed = self.allowed(role, model, f"write:{fname}", label)
                            if allowed and context:
                                continue  # a forged flag only matters where the write must be refused
                            self.probe(
                                role,
                                model,
                                "write",
                                [record.ids, {fname: value}],
                                context=context,
                                allowed=allowed,
                                label=f"{role}: {model}.write({fname}={value!r}) on {label}",
                            )
        self.assertNoProblems()

    def check_forged_company(self):
        """A company the user does not belong to, in allowed_company_ids, gives no right: for every role and
        company-bound model, a method call and a write of every field."""
        all_targets = self.targets()
        for model in self.rpc_models():
            if "company_id" not in self.env[model]._fields:
                continue
            label, record = all_targets[model][0]
            methods = self.methods_of(model)
            names = self.fields_of(model)
            values = {fname: self.other_value(record, fname) for fname in names}
            for role in self.ROLES:
                context = self.company_context(role)
                if methods:
                    method = methods[0]
                    args = self.method_args(model, method, record.ids, self.param_values(model, record))
                    allowed = self.allowed(role, model, method, label)
                    self.probe(role, model, method, args, context=context, allowed=allowed, label=f"{role}: {method}")
                if values:
                    allowed = all(self.allowed(role, model, f"write:{fname}", label) for fname in values)
                    self.probe(
                        role,
                        model,
                        "write",
                        [record.ids, values],
                        context=context,
                        allowed=allowed,
                        label=f"{role}: {model}",
                    )
        self.assertNoProblems()

    def check_create(self):
        """Creating a copy of every target record (``copy_data`` values) by every role."""
        all_targets = self.targets()
        for model in self.rpc_models():
            for label, record in all_targets[model][:1]:
                vals = record.sudo().copy_data()[0]
                if self.is_extended(model) and model not in self.CREATE_EXTENDED:
                    continue  # core models: creating a partner, a company or an asset is core's business
                vals = {key: value for key, value in vals.items() if key in self.env[model]._fields}
                for role in self.ROLES:
                    allowed = self.allowed(role, model, "create", label)
                    for context in (None, self.forged_context(role)) if not allowed else (None,):
                        self.probe(
                            role,
                            model,
                            "create",
                            [vals],
                            context=context,
                            allowed=allowed,
                            label=f"{role}: {model}.create(copy of {label})",
                        )
        self.assertNoProblems()

    def check_unknown_ids(self):
        """Every public crowd method on an id that does not exist, or does not fit PostgreSQL's integer: a
        clean Odoo error or a no-op (an unlink of nothing, a navigation action), never a database error
        and never a change, for a portal and an internal role."""
        all_targets = self.targets()
        for model in self.rpc_models():
            record = all_targets[model][0][1]
            gone = self.env[model].sudo().search([], order="id desc", limit=1).id + 1000
            for method in [*self.methods_of(model), "copy", "unlink"]:
                if getattr(getattr(type(self.env[model]), method), "_api", None):
                    continue  # @api.model: no ids
                for role, record_id in (
                    (self.PORTAL_PROBE_ROLE, 2**40),
                    (self.INTERNAL_PROBE_ROLE, 2**40),
                    (self.INTERNAL_PROBE_ROLE, gone),
                ):
                    args = self.method_args(model, method, [record_id], self.param_values(model, record))
                    self.probe(
                        role,
                        model,
                        method,
                        args,
                        allowed=True,
                        unchanged=True,
                        label=f"{role}: {model}.{method}([{record_id}])",
                    )
        self.assertNoProblems()

    # ------------------------------------------------------------------ sessions and calls
    def opener_for(self, role):
        """One logged-in session per role and test (``authenticate`` as a real login does)."""
        if role not in self._openers:
            login = self.users[role].login
            self.session = None  # authenticate() would delete the previous role's session
            self.authenticate(login, f"{login}-pw-1234")
            self._openers[role] = self.opener
        return self._openers[role]

    def base_context(self, role):
        """The context a real client sends: the user's language, time zone, id and companies."""
        user = self.users[role]
        return {"lang": "en_US", "tz": "Europe/Zurich", "uid": user.id, "allowed_company_ids": [user.company_id.id]}

    def call(self, role, model, method, args, kwargs=None, context=None):
        """JSON-RPC ``call_kw`` exactly as odoorpc sends it; returns (result, error) from the JSON answer."""
        kwargs = dict(kwargs or {})
        kwargs["context"] = dict(self.base_context(role), **(context or {}))
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": next(self._rpc_id),
            "params": {"model": model, "method": method, "args": args, "kwargs": kwargs},
        }
        response = self.opener_for(role).post(
            f"{self.base_url()}/web/dataset/call_kw/{model}/{method}",
            data=json.dumps(payload, default=_json_default),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        self.assertEqual(response.status_code, 200, f"{role} {model}.{method}: HTTP {response.status_code}")
        answer = response.json()
        return answer.get("result"), answer.get("error")

    # ------------------------------------------------------------------ database snapshot
    def digest(self):
        """A row count and a sum of row hashes (every column) per watched table, read as the database owner
        (big tables: row count, last id and last write date)."""
        self.env.flush_all()
        if not type(self)._digest_query:
            type(self)._digest_query = self._make_digest_query()
        self.cr.execute(type(self)._digest_query)
        return dict(self.cr.fetchall())

    def _make_digest_query(self):
        self.cr.execute(
            """SELECT table_name FROM information_schema.tables
                WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
                  AND (table_name LIKE 'crowd\\_%%' OR table_name IN %s)""",
            [WATCHED_TABLES],
        )
        tables = sorted(row[0] for row in self.cr.fetchall())
        hashed = [
            f"SELECT '{table}', concat_ws(',', count(*), sum(hashtextextended(t::text, 0)::numeric)) FROM \"{table}\" t"
            for table in tables
        ]
        self.cr.execute(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'write_date' AND table_name IN %s",
            [COUNTED_TABLES],
        )
        dated = {row[0] for row in self.cr.fetchall()}
        counted = [
            f"SELECT '{table}', concat_ws(',', count(*), max(id){', max(write_date)' if table in dated else ''})"
            f' FROM "{table}"'
            for table in COUNTED_TABLES
        ]
        return " UNION ALL ".join(hashed + counted)

    def writes(self):
        """Rows inserted, updated or deleted so far in this transaction, in any table (rolled back or not)."""
        self.cr.execute("SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) FROM pg_stat_xact_user_tables")
        return self.cr.fetchone()[0]

    # ------------------------------------------------------------------ probes
    def probe(self, role, model, method, args, kwargs=None, context=None, allowed=False, label=None, unchanged=False):
        """Call, then check: a refused probe answers a clean Odoo error and changes nothing; an allowed
        probe succeeds or is refused by a state/input check (and changes nothing either when
        ``unchanged``). Everything is rolled back afterwards."""
        label = label or f"{role}: {model}.{method}"
        if context:
            label += f" ctx={sorted(context)}"
        counts = type(self).counts
        counts["tried"] += 1
        if self._digest is None:
            self._digest = self.digest()
        before = self._digest
        self.env.flush_all()
        writes_before = self.writes()
        self.cr.execute("SAVEPOINT crowd_rpc_probe")
        try:
            # bad input makes PostgreSQL refuse a row (logged as a bad query, answered as a ValidationError);
            # the deprecated force_company key is logged with a stack
            with mute_logger("odoo.sql_db", "odoo.models"):
                result, error = self.call(role, model, method, args, kwargs, context)
            # fast path: no row of any table was even touched; else compare the watched tables row by row
            after = before if self.writes() == writes_before else self.digest()
        finally:
            self.cr.execute("ROLLBACK TO SAVEPOINT crowd_rpc_probe")
            self.cr.execute("RELEASE SAVEPOINT crowd_rpc_probe")
            self.env.invalidate_all()
        changed = sorted(table for table in before if before[table] != after.get(table))
        name = error and error.get("data", {}).get("name")
        message = error and (error.get("data", {}).get("message") or error.get("message"))
        if error and name not in REFUSALS:
            self.problems.append(f"{label}: refused with {name} (not a clean Odoo error): {message}")
        elif error and changed:
            self.problems.append(f"{label}: refused ({name}) but changed {changed}")
        elif unchanged and changed:
            self.problems.append(f"{label}: changed {changed}")
        elif allowed and not (unchanged and error):
            counts["allowed"] += 1
            if error:
                counts["allowed_refused"] += 1
        elif error:
            counts["refused"] += 1
        else:
            self.problems.append(f"{label}: NOT refused (result {str(result)[:80]!r}; changed {changed or 'nothing'})")
        return result, error

    def assertNoProblems(self):
        problems = self.problems
        self.problems = []
        self.assertFalse(problems, f"{len(problems)} unexpected RPC outcomes:\n" + "\n".join(problems))

    # ------------------------------------------------------------------ values
    def other_value(self, record, fname, nasty=None):
        """A valid value different from the record's current one (read as superuser), to write over RPC."""
        field = record._fields[fname]
        current = record.sudo()[fname]
        if nasty and fname in nasty:
            return nasty[fname]
        if field.type in ("char", "text"):
            return "RPC probe"
        if field.type == "html":
            return "<p>RPC probe</p>"
        if field.type == "boolean":
            return not current
        if field.type == "integer":
            return (current or 0) + 1
        if field.type in ("float", "monetary"):
            return (current or 0.0) / 2 + 0.5  # stays within the usual ranges (ratings, coordinates, weights)
        if field.type == "date":
            return "2031-01-02"
        if field.type == "datetime":
            return "2031-01-02 03:04:05"
        if field.type == "json":
            return {"rpc": "probe"}
        if field.type == "selection":
            keys = [key for key, _label in field._description_selection(self.env) if key != current]
            return keys[0] if keys else False
        comodel = self.env[field.comodel_name].sudo().with_context(active_test=False)
        if field.type == "many2one":
            other = comodel.search([("id", "!=", current.id)], limit=1, order="id desc")
            return other.id
        if current:
            return [Command.clear()]
        other = comodel.search([], limit=1, order="id desc")
        return [Command.link(other.id)] if other else [Command.clear()]

    def method_args(self, model, method, record_ids, values):
        """args of a call_kw of ``method``: the ids (unless @api.model) then each required parameter by name."""
        func = getattr(type(self.env[model]), method)
        params = list(inspect.signature(func).parameters.values())[1:]
        args = [] if getattr(func, "_api", None) in ("model", "model_create") else [record_ids]
        for param in params:
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            if param.name in values:
                args.append(values[param.name])
            elif param.default is param.empty:
                self.fail(f"No probe value for parameter {param.name!r} of {model}.{method}: add one to the suite")
            else:
                break
        return args


def _json_default(value):
    """Dates as the client sends them (``copy_data`` holds Python dates)."""
    if isinstance(value, datetime.datetime):
        return fields.Datetime.to_string(value)
    if isinstance(value, datetime.date):
        return fields.Date.to_string(value)
    raise TypeError(f"{value!r} is not JSON serializable")
