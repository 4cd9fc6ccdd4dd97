"""The bar guard bounds what takes no time (decorations, grace groups, slurs, chord symbols): a model cannot loop
on ornaments, and real ornamented tunes still pass."""
from rnnmusic.corpus import load_abc
from rnnmusic.encodings import get_encoding
from rnnmusic.encodings.abc_bars import (
    MAX_GRACE_NOTES,
    MAX_ZERO_TIME_PER_BAR,
    MAX_ZERO_TIME_RUN,
)

EXTRA = 'M:6/8\nL:1/8\nK:G\n"Am"!trill!~GAB {/g}{ag}(3Bcd ((ba)(gf)) .T.H.uv z|\n'
ORNAMENTS = ["~", "!trill!", ".", "T", "H", "(", ")", '"Am"', "{", "{/"]


def _fitted():
    tunes = load_abc(["oneills"], max_tunes=300).tunes
    return tunes, get_encoding("abc-tokens").fit([t.text for t in tunes] + [EXTRA])


def _guard_after(enc, tokens):
    g = enc.constraint()
    for tok in tokens:
        g.advance(tok)
    return g


def _allows(enc, mask, tok):
    return mask is None or bool(mask[enc._index[tok]])


def test_a_run_of_zero_time_tokens_is_bounded():
    _, enc = _fitted()
    head = enc.tokenize("M:6/8\nL:1/8\nK:G\nGAB ")
    g = _guard_after(enc, head + ["~", "!trill!", ".", "T", "H"])  # five: one more may come
    assert all(_allows(enc, g.allowed(), t) for t in ORNAMENTS)
    g.advance('"Am"')  # six
    m = g.allowed()
    assert m is not None and not any(m[enc._index[t]] for t in ORNAMENTS)
    assert all(m[enc._index[t]] for t in ("G", "z", "|", " "))  # notes, rests, bar lines stay
    g.advance("|")  # a bar line takes no time either: still bounded
    assert not g.allowed()[enc._index["~"]]
    g.advance("G")  # a note ends the run
    assert _allows(enc, g.allowed(), "~")


def test_zero_time_tokens_per_bar_are_bounded():
    _, enc = _fitted()
    g = _guard_after(enc, enc.tokenize("M:none\nL:1/8\nK:G\n"))  # no meter: a bar as long as it takes
    for _ in range(MAX_ZERO_TIME_PER_BAR):  # each ornament on a note of its own: runs of one
        assert _allows(enc, g.allowed(), "~")
        g.advance("~")
        g.advance("G/")
    m = g.allowed()
    assert not m[enc._index["~"]] and not m[enc._index['"Am"']] and m[enc._index["G"]] and m[enc._index["|"]]
    g.advance("|")
    assert _allows(enc, g.allowed(), "~")


def test_grace_groups_hold_at_most_four_notes_and_do_not_follow_each_other():
    _, enc = _fitted()
    g = _guard_after(enc, enc.tokenize("M:6/8\nL:1/8\nK:G\nGAB ") + ["{"])
    for tok in ["g", "a", "g", "f"][:MAX_GRACE_NOTES]:
        assert _allows(enc, g.allowed(), tok)
        g.advance(tok)
    m = g.allowed()
    assert not m[enc._index["e"]] and not m[enc._index["G"]] and m[enc._index["}"]]
    g.advance("}")
    for gap in ([], [" "]):
        h = _guard_after(enc, enc.tokenize("M:6/8\nL:1/8\nK:G\nGAB {g}") + gap)
        m = h.allowed()
        assert not m[enc._index["{"]] and not m[enc._index["{/"]] and m[enc._index["G"]]
    g.advance("G")
    assert _allows(enc, g.allowed(), "{")


def test_no_third_slur_opened_in_a_row():
    _, enc = _fitted()
    g = _guard_after(enc, enc.tokenize("M:6/8\nL:1/8\nK:G\nGAB "))
    g.advance("(")
    assert _allows(enc, g.allowed(), "(")  # two nest in real tunes: ((ba)(gf))
    g.advance("(")
    m = g.allowed()
    assert not m[enc._index["("]] and m[enc._index["(3"]] and m[enc._index["b"]]


def test_the_bounds_hold_without_a_meter_too():
    _, enc = _fitted()
    g = _guard_after(enc, enc.tokenize("M:none\nL:1/8\nK:G\nGAB ") + ["~"] * MAX_ZERO_TIME_RUN)
    m = g.allowed()
    assert m is not None and not m[enc._index["~"]] and m[enc._index["G"]]


def test_an_ornament_loving_sampler_is_held_to_the_bounds():
    """Always take the first allowed token of an ornament-first preference list: the stream stays bounded."""
    _, enc = _fitted()
    prefer = ORNAMENTS + ["g", "a", "}", "G", "A", "|"]  # "g", "a": grace notes in a group, else notes
    g = _guard_after(enc, enc.tokenize("M:6/8\nL:1/8\nK:G\n"))
    out = []
    for _ in range(300):
        m = g.allowed()
        tok = next(t for t in prefer if _allows(enc, m, t))
        out.append(tok)
        g.advance(tok)
    run = longest = 0
    in_grace = False
    for tok in out:
        in_grace = tok in ("{", "{/") or (in_grace and tok != "}")
        if tok in ORNAMENTS:
            run += 1
        elif tok in ("g", "a", "G", "A") and not in_grace:
            run = 0
        longest = max(longest, run)
    assert longest <= MAX_ZERO_TIME_RUN
    text = "".join(out)
    assert "}{" not in text and "(((" not in text
    assert all(len(group) <= MAX_GRACE_NOTES for group in
               ("".join(c for c in part.split("}")[0] if c in "ga") for part in text.split("{")[1:]))
    assert sum(t in ("g", "a", "G", "A") for t in out) > 30  # notes still come


def test_real_ornamented_tunes_are_not_blocked_by_the_bounds():
    tunes, enc = _fitted()
    checked = 0
    for t in tunes:
        toks = enc.tokenize(t.text)
        if sum(tok in ORNAMENTS for tok in toks) < 10:
            continue
        g = enc.constraint()
        for k, tok in enumerate(toks):
            bounds = g._zero_time_mask()
            assert bounds is None or bounds[enc._index[tok]], (t.source, "".join(toks[max(0, k - 10):k + 1]))
            g.advance(tok)
        checked += 1
    assert checked > 100


def test_stray_grace_closes_are_bounded_too():
    _, enc = _fitted()
    g = _guard_after(enc, enc.tokenize("M:6/8\nL:1/8\nK:G\nGAB ") + ["}"] * MAX_ZERO_TIME_RUN)
    m = g.allowed()
    assert not m[enc._index["}"]] and m[enc._index["G"]]
