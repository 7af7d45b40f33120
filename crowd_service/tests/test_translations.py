"""The French and Indonesian translations of the three addons are complete and usable.

The .po files are checked as files (every entry translated, nothing fuzzy, placeholders and markup
kept, in step with the addon's .pot), then a few strings are read back in French through the ORM.
"""

import os
import re
from collections import Counter

import polib

from odoo.exceptions import ValidationError
from odoo.modules.module import get_module_path
from odoo.tests import TransactionCase, tagged

ADDONS = ("crowd_service", "crowd_service_portal", "crowd_service_payout")
LANGUAGES = {
    "fr": "nplurals=2; plural=(n > 1);",
    "id": "nplurals=1; plural=0;",
}

# printf placeholders (named and positional, %% included) and inline_template placeholders {{ ... }}
NAMED_RE = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdifr]")
POSITIONAL_RE = re.compile(r"%(?!\()[-#0 +]*\d*(?:\.\d+)?[sdifr%]")
INLINE_RE = re.compile(r"\{\{.*?\}\}", re.S)
# markup: tags with their attributes; the attributes a translator translates are left out
TAG_RE = re.compile(r"<\s*(/?)\s*([\w.:-]+)((?:\s+[\w.:@-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'))?)*)\s*/?\s*>")
ATTR_RE = re.compile(r"([\w.:@-]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'))?")
TRANSLATED_ATTRS = {"title", "alt", "placeholder", "aria-label", "string", "help", "label", "data-tooltip"}


def _placeholders(text):
    """What a translation must keep: placeholders (positional ones in order) and markup."""
    without_inline = INLINE_RE.sub("", text)
    tags = []
    for closing, name, attrs in TAG_RE.findall(without_inline):
        kept = sorted((key, value) for key, value in ATTR_RE.findall(attrs) if key.lower() not in TRANSLATED_ATTRS)
        tags.append((closing, name.lower(), tuple(kept)))
    # the attribute values (t-out expressions...) are compared with the tags, not as text
    text_only = TAG_RE.sub(" ", without_inline)
    return {
        "named": Counter(NAMED_RE.findall(without_inline)),
        "positional": POSITIONAL_RE.findall(NAMED_RE.sub("", text_only)),
        "inline": Counter(m.strip() for m in INLINE_RE.findall(text)),
        "markup": Counter(tags),
    }


def _po_path(addon, name):
    return os.path.join(get_module_path(addon), "i18n", name)


@tagged("post_install", "-at_install")
class TestTranslations(TransactionCase):
    def test_po_files_complete(self):
        """fr.po and id.po of each addon: complete, not fuzzy, placeholders kept, in step with the .pot."""
        problems = []
        for addon in ADDONS:
            self.assertTrue(get_module_path(addon), f"addon {addon} not found")
            pot_path = _po_path(addon, f"{addon}.pot")
            self.assertTrue(os.path.isfile(pot_path), f"{pot_path} is missing")
            template = {entry.msgid for entry in polib.pofile(pot_path) if not entry.obsolete}
            for lang, plural_forms in LANGUAGES.items():
                path = _po_path(addon, f"{lang}.po")
                if not os.path.isfile(path):
                    problems.append(f"{addon}/i18n/{lang}.po is missing")
                    continue
                po = polib.pofile(path)
                where = f"{addon}/i18n/{lang}.po"
                if po.metadata.get("Language") != lang:
                    problems.append(f"{where}: header Language is {po.metadata.get('Language')!r}")
                if po.metadata.get("Plural-Forms") != plural_forms:
                    problems.append(f"{where}: header Plural-Forms is {po.metadata.get('Plural-Forms')!r}")
                entries = [entry for entry in po if not entry.obsolete]
                msgids = {entry.msgid for entry in entries}
                for msgid in sorted(template - msgids):
                    problems.append(f"{where}: not merged from the .pot: {msgid!r}")
                for msgid in sorted(msgids - template):
                    problems.append(f"{where}: not in the .pot any more: {msgid!r}")
                for entry in entries:
                    if "fuzzy" in entry.flags:
                        problems.append(f"{where}: fuzzy: {entry.msgid!r}")
                    if not entry.msgstr.strip():
                        problems.append(f"{where}: untranslated: {entry.msgid!r}")
                        continue
                    expected, found = _placeholders(entry.msgid), _placeholders(entry.msgstr)
                    for kind, value in expected.items():
                        if found[kind] != value:
                            problems.append(f"{where}: {kind} placeholders differ in {entry.msgid!r}: {entry.msgstr!r}")
        self.assertFalse(problems, "Translation problems:\n" + "\n".join(problems))

    def test_placeholder_check_catches_mistakes(self):
        """The check above is not blind: a lost or renamed placeholder, or broken markup, is seen."""
        self.assertNotEqual(_placeholders("Job %(name)s: %(error)s"), _placeholders("Intervention %(nom)s : %(error)s"))
        self.assertNotEqual(_placeholders("Check-in %.2f km away"), _placeholders("Pointage à %s km"))
        self.assertNotEqual(_placeholders("usually accepts (%s%%)"), _placeholders("accepte (%s)"))
        self.assertNotEqual(
            _placeholders("New job offer: {{ object.request_name }}"),
            _placeholders("Nouvelle offre : {{ object.name }}"),
        )
        self.assertNotEqual(
            _placeholders('<p>Hello <t t-out="object.name">Expert</t></p>'),
            _placeholders('<p>Bonjour <t t-out="object.display_name">Expert</t></p>'),
        )
        self.assertEqual(
            _placeholders('<i class="fa fa-user" title="Expert"/>'),
            _placeholders('<i class="fa fa-user" title="Ahli"/>'),
        )

    def test_french_at_runtime(self):
        """Loaded into the database, the French terms reach selection labels, field labels and errors."""
        lang = self.env["res.lang"]._activate_lang("fr_FR")
        self.assertTrue(lang, "the French language is not available")
        self.env["ir.module.module"]._load_module_terms(["crowd_service"], ["fr_FR"], overwrite=True)
        env_fr = self.env(context=dict(self.env.context, lang="fr_FR"))

        state = env_fr["crowd.job"].fields_get(["state"], ["string", "selection"])["state"]
        self.assertEqual(state["string"], "Statut")
        self.assertEqual(dict(state["selection"])["dispatching"], "En répartition")
        self.assertEqual(dict(state["selection"])["on_site"], "Sur site")
        offer_state = dict(env_fr["crowd.dispatch.offer"].fields_get(["state"], ["selection"])["state"]["selection"])
        self.assertEqual(offer_state["declined"], "Refusée")
        self.assertEqual(env_fr["ir.model"]._get("crowd.job").name, "Intervention Crowd Service")

        expert = self.env["res.partner"].create({"name": "Élise Experte", "is_crowd_expert": True})
        Blackout = env_fr["crowd.expert.blackout"]
        count = Blackout.search_count([("partner_id", "=", expert.id)])
        backwards = {"partner_id": expert.id, "date_from": "2026-03-02 10:00:00", "date_to": "2026-03-01 10:00:00"}
        with self.assertRaises(ValidationError) as caught:
            Blackout.create(backwards)
        self.assertEqual(str(caught.exception), "Une indisponibilité ne peut pas se terminer avant de commencer.")
        self.assertEqual(Blackout.search_count([("partner_id", "=", expert.id)]), count)
        # the same code string stays English for an English reader
        with self.assertRaises(ValidationError) as caught:
            Blackout.with_context(lang="en_US").create(backwards)
        self.assertEqual(str(caught.exception), "An unavailability cannot end before it starts.")

    def test_portal_french_at_runtime(self):
        """The customer portal's pages come out in French, markup and QWeb attributes intact."""
        new_request = self.env.ref("crowd_service_portal.portal_crowd_service_new", raise_if_not_found=False)
        if not new_request:
            self.skipTest("crowd_service_portal is not installed")
        request_page = self.env.ref("crowd_service_portal.portal_my_crowd_service")
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env["ir.module.module"]._load_module_terms(["crowd_service_portal"], ["fr_FR"], overwrite=True)
        arch = new_request.with_context(lang="fr_FR").arch_db
        self.assertIn('<label class="form-label" for="priority">Priorité</label>', arch)
        self.assertIn('<button type="submit" class="btn btn-primary w-100">Envoyer la demande</button>', arch)
        self.assertNotIn("Send the request", arch)
        self.assertIn("Send the request", new_request.with_context(lang="en_US").arch_db)
        arch = request_page.with_context(lang="fr_FR").arch_db
        self.assertIn('<option value="4">4 — bien</option>', arch)
        self.assertIn("Comment s'est passée la visite ?", arch)

    def test_indonesian_at_runtime(self):
        """Indonesian too: a selection label and an error message."""
        lang = self.env["res.lang"]._activate_lang("id_ID")
        self.assertTrue(lang, "the Indonesian language is not available")
        self.env["ir.module.module"]._load_module_terms(["crowd_service"], ["id_ID"], overwrite=True)
        env_id = self.env(context=dict(self.env.context, lang="id_ID"))
        state = dict(env_id["crowd.job"].fields_get(["state"], ["selection"])["state"]["selection"])
        self.assertEqual(state["en_route"], "Dalam Perjalanan")
        expert = self.env["res.partner"].create({"name": "Budi Ahli", "is_crowd_expert": True})
        with self.assertRaises(ValidationError) as caught:
            env_id["crowd.expert.blackout"].create(
                {"partner_id": expert.id, "date_from": "2026-03-02 10:00:00", "date_to": "2026-03-01 10:00:00"}
            )
        self.assertEqual(str(caught.exception), "Ketidaktersediaan tidak boleh berakhir sebelum dimulai.")
