"""keytui/core/qr.py: the QR encoder that shows a virtual MFA device's otpauth:// URI in the terminal.

Every code is read back by tests/mfa/qr_decode.py, a strict matrix decoder written apart from the encoder
(its own tables, GF(256) and walk; it checks the function patterns, both format copies, the version
information, each block's Reed–Solomon check and the padding). Where the test extra is installed, the
matrices are also compared module for module with the reference library (`qrcodegen`, Nayuki's, whose
design the encoder follows) and read by a real image decoder (`zxingcpp`), as a phone would.
"""

from __future__ import annotations

import random

import pytest

from keytui.core import qr

from .qr_decode import DecodeError, decode

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # 64 base32 characters
TYPICAL_URI = f"otpauth://totp/AWS:alice@123456789012?secret={SECRET}&issuer=AWS"

# ISO/IEC 18004 table 7: bytes one byte-mode segment holds, versions 1..10 and 40, levels L and M.
BYTE_CAPACITY = {
    "L": {1: 17, 2: 32, 3: 53, 4: 78, 5: 106, 6: 134, 7: 154, 8: 192, 9: 230, 10: 271, 40: 2953},
    "M": {1: 14, 2: 26, 3: 42, 4: 62, 5: 84, 6: 106, 7: 122, 8: 152, 9: 180, 10: 213, 40: 2331},
}

# The reference library's symbols (qrcodegen 1.8.0, byte mode, no ECC boost, its own mask choice).
KEYTUI_1L_MASK6 = (
    "#######.#####.#######",
    "#.....#..#.#..#.....#",
    "#.###.#..##...#.###.#",
    "#.###.#..###..#.###.#",
    "#.###.#...#.#.#.###.#",
    "#.....#....##.#.....#",
    "#######.#.#.#.#######",
    "........#####........",
    "##.##.#..##.#.#.....#",
    "##.###.#..#.#.#.###..",
    "####..####...##.#.###",
    "#..##...##.#......###",
    "###..####.....#....#.",
    "........#..##......#.",
    "#######..##.#######..",
    "#.....#..#.###.####..",
    "#.###.#.#.###.###..##",
    "#.###.#.#####.....#..",
    "#.###.#..##...#.#####",
    "#.....#.###..###.####",
    "#######.#.##....##...",
)
OTPAUTH_X_1M_MASK4 = (
    "#######.#.###.#######",
    "#.....#...#...#.....#",
    "#.###.#..#..#.#.###.#",
    "#.###.#.#...#.#.###.#",
    "#.###.#.###.#.#.###.#",
    "#.....#.####..#.....#",
    "#######.#.#.#.#######",
    "........#..##........",
    "#...#.###.##.#####..#",
    "#...#...##.###.####..",
    "####.###.#.#..####.#.",
    "#.#.##.#.......##..##",
    "##.#.##..##.##..##...",
    "........#...#...#.##.",
    "#######.#.#.###.##.#.",
    "#.....#...###..##..##",
    "#.###.#.####.#.#...#.",
    "#.###.#..##.#..##.###",
    "#.###.#..#.#.##.#....",
    "#.....#..###.#..#....",
    "#######.##.....#.#..#",
)


def uri_of_length(length: int, name: str = "alice@123456789012") -> str:
    """An otpauth URI of exactly `length` bytes (the secret is stretched or cut to fit); below the length of
    a whole URI, as much of one as fits."""
    head, tail = f"otpauth://totp/AWS:{name}?secret=", "&issuer=AWS"
    room = length - len((head + tail).encode())
    if room < 0:
        return ("otpauth://totp/" + SECRET * (length // len(SECRET) + 1))[:length]
    return head + (SECRET * (room // len(SECRET) + 1))[:room] + tail


def as_text(code: qr.QrCode) -> tuple[str, ...]:
    return tuple("".join("#" if dark else "." for dark in row) for row in code.modules)


def assert_decodes(code: qr.QrCode, payload: bytes) -> None:
    result = decode(code.modules)
    assert (result.version, result.ecc, result.mask) == (code.version, code.ecc, code.mask)
    assert result.data == payload
    assert code.size == 4 * code.version + 17 == len(code.modules)
    assert all(len(row) == code.size for row in code.modules)


# ---- Round trips through the independent decoder ----


@pytest.mark.parametrize("ecc", ["L", "M"])
@pytest.mark.parametrize("version", range(2, 11))
def test_qr_uris_at_each_version_boundary_round_trip(version: int, ecc: str) -> None:
    capacity, previous = BYTE_CAPACITY[ecc][version], BYTE_CAPACITY[ecc][version - 1]
    assert qr.byte_capacity(version, ecc) == capacity
    for length in (previous + 1, (previous + capacity) // 2, capacity):
        uri = uri_of_length(length)
        code = qr.encode(uri, ecc=ecc)
        assert code.version == version, f"{length} bytes at {ecc}"
        assert_decodes(code, uri.encode())
    assert qr.encode(uri_of_length(capacity + 1), ecc=ecc).version == version + 1


@pytest.mark.parametrize("ecc", ["L", "M"])
@pytest.mark.parametrize("mask", range(8))
def test_qr_every_forced_mask_round_trips(mask: int, ecc: str) -> None:
    for uri in (TYPICAL_URI, uri_of_length(40), uri_of_length(250)):
        code = qr.encode(uri, ecc=ecc, mask=mask)
        assert code.mask == mask
        assert_decodes(code, uri.encode())


def test_qr_utf8_user_name_is_encoded_as_utf8_bytes() -> None:
    uri = f"otpauth://totp/AWS:José.Müller-Σωκράτης-李@123456789012?secret={SECRET}&issuer=AWS"
    code = qr.encode(uri)
    assert_decodes(code, uri.encode("utf-8"))
    assert code.modules == qr.encode(uri.encode("utf-8")).modules


@pytest.mark.parametrize("ecc", ["L", "M", "Q", "H"])
def test_qr_all_levels_and_versions_7_and_up_round_trip(ecc: str) -> None:
    # Version information (v>=7), several alignment rows and many interleaved blocks.
    rnd = random.Random(ecc)
    for version in (7, 14, 21, 27, 40):
        payload = bytes(rnd.randrange(256) for _ in range(qr.byte_capacity(version, ecc)))
        code = qr.encode(payload, ecc=ecc, min_version=version)
        assert code.version == version
        assert_decodes(code, payload)


def test_qr_empty_and_tiny_payloads_round_trip() -> None:
    for payload in (b"", b"a", bytes(range(17))):
        assert_decodes(qr.encode(payload), payload)


def test_qr_the_decoder_rejects_damaged_symbols() -> None:
    # The oracle must be able to fail: one flipped data module, one flipped format bit.
    code = qr.encode(TYPICAL_URI)
    rows = [list(row) for row in code.modules]
    rows[code.size - 1][code.size - 1] ^= True  # the first data bit
    with pytest.raises(DecodeError, match="Reed–Solomon"):
        decode(rows)
    rows = [list(row) for row in code.modules]
    rows[8][0] ^= True  # bit 14 of the format information near the top-left finder
    with pytest.raises(DecodeError, match="format information"):
        decode(rows)


# ---- Known vectors ----


def test_qr_matches_the_reference_library_for_short_strings() -> None:
    code = qr.encode("keytui")
    assert (code.version, code.ecc, code.mask, code.size) == (1, "L", 6, 21)
    assert as_text(code) == KEYTUI_1L_MASK6
    code = qr.encode("otpauth://x", ecc="M")
    assert (code.version, code.mask) == (1, 4)
    assert as_text(code) == OTPAUTH_X_1M_MASK4


@pytest.mark.parametrize("payload", [b"\x00" * 72, b"\xff" * 30, b"\xff" * 75])
def test_qr_mask_choice_weighs_the_dark_balance(payload: bytes) -> None:
    # Skewed data where the dark-share rule of the penalty decides: the reference library picks mask 0.
    code = qr.encode(payload, ecc="M")
    assert code.mask == 0
    assert_decodes(code, payload)


def test_qr_typical_uri_is_version_6_l_and_fits_an_80x24_terminal() -> None:
    assert len(TYPICAL_URI.encode()) == 120
    code = qr.encode(TYPICAL_URI)
    assert (code.version, code.ecc, code.size) == (6, "L", 41)
    assert qr.rendered_size(code, quiet=1) == (43, 22)
    assert qr.rendered_size(code, quiet=2) == (45, 23)
    assert qr.fits(code, 80, 24, quiet=2) and not qr.fits(code, 80, 22, quiet=2)
    assert not qr.fits(code, 44, 24, quiet=2)
    # With a longer account alias in the label the code grows to version 7 (45 modules): still fits.
    longer = qr.encode(uri_of_length(BYTE_CAPACITY["L"][6] + 1))
    assert longer.version == 7 and qr.rendered_size(longer, quiet=1) == (47, 24)


def test_qr_data_that_does_not_fit_raises_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match=r"2954 bytes do not fit a QR code: version 40-L holds at most 2953"):
        qr.encode(b"x" * 2954)
    with pytest.raises(ValueError, match=r"version 40-M holds at most 2331"):
        qr.encode(b"x" * 2332, ecc="M")
    with pytest.raises(ValueError, match=r"version 5-L holds at most 106"):
        qr.encode(uri_of_length(107), max_version=5)
    assert qr.encode(b"x" * 2953).version == 40


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"ecc": "X"}, "error correction level"),
        ({"ecc": "l"}, "error correction level"),
        ({"mask": 8}, "mask"),
        ({"mask": -1}, "mask"),
        ({"min_version": 0}, "versions"),
        ({"min_version": 5, "max_version": 4}, "versions"),
        ({"max_version": 41}, "versions"),
    ],
)
def test_qr_bad_arguments_raise_value_error(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        qr.encode("x", **kwargs)


def test_qr_min_version_is_honoured_and_the_code_is_immutable() -> None:
    code = qr.encode("x", min_version=5)
    assert code.version == 5
    assert_decodes(code, b"x")
    with pytest.raises(AttributeError):
        code.version = 1  # type: ignore[misc]


# ---- The half-block rendering ----

# Glyph -> (top half drawn, bottom half drawn).
GLYPHS = {" ": (False, False), "▀": (True, False), "▄": (False, True), "█": (True, True)}


def modules_from_half_blocks(lines: list[str], *, quiet: int, invert: bool) -> list[list[bool]]:
    """Parse the rendered text back into the symbol's modules, checking the quiet zone on the way."""
    assert len({len(line) for line in lines}) == 1 and set("".join(lines)) <= set(GLYPHS)
    drawn = [[GLYPHS[ch][half] for ch in line] for line in lines for half in (0, 1)]
    side = len(lines[0])
    if len(drawn) > side:  # odd height: the half row past the edge must be left blank
        assert not any(drawn.pop())
    dark = [[cell == invert for cell in row] for row in drawn]
    assert len(dark) == side
    symbol = side - 2 * quiet
    for y in range(side):
        for x in range(side):
            if not (quiet <= x < quiet + symbol and quiet <= y < quiet + symbol):
                assert not dark[y][x], f"quiet zone module ({x}, {y}) is dark"
    return [row[quiet : quiet + symbol] for row in dark[quiet : quiet + symbol]]


@pytest.mark.parametrize("invert", [False, True])
@pytest.mark.parametrize("quiet", [0, 1, 2, 3, 4])
def test_qr_half_block_text_parses_back_to_the_same_symbol(quiet: int, invert: bool) -> None:
    code = qr.encode(TYPICAL_URI)
    lines = qr.render_half_blocks(code, quiet=quiet, invert=invert)
    assert (len(lines[0]), len(lines)) == qr.rendered_size(code, quiet=quiet)
    modules = modules_from_half_blocks(lines, quiet=quiet, invert=invert)
    assert tuple(map(tuple, modules)) == code.modules
    assert decode(modules).data == TYPICAL_URI.encode()


def test_qr_dark_theme_draws_light_modules_and_blanks_dark_ones() -> None:
    code = qr.encode(TYPICAL_URI)
    lines = qr.render_half_blocks(code, quiet=2)
    assert lines[0] == "█" * 45  # module rows 0-1: quiet zone, drawn (light)
    # Module rows 2-3 are the symbol's rows 0-1: two quiet columns, then the top-left finder (its dark top
    # edge over "#.....#") and its light separator.
    assert lines[1].startswith("██ ▄▄▄▄▄ █")
    assert lines[-1] == "▀" * 45  # module row 44 is quiet zone; the half below it is blank
    inverted = qr.render_half_blocks(code, quiet=2, invert=True)
    assert inverted[0] == " " * 45 and inverted[1].startswith("  █▀▀▀▀▀█ ")


# ---- Cross-checks with independent implementations (the test extra) ----

LEVELS = ("L", "M", "Q", "H")


def reference_matrix(payload: bytes, ecc: str, version: int | None = None, mask: int = -1):
    qrcodegen = pytest.importorskip("qrcodegen")
    level = getattr(qrcodegen.QrCode.Ecc, {"L": "LOW", "M": "MEDIUM", "Q": "QUARTILE", "H": "HIGH"}[ecc])
    segments = [qrcodegen.QrSegment.make_bytes(payload)]
    low, high = (version, version) if version else (1, 40)
    ref = qrcodegen.QrCode.encode_segments(segments, level, low, high, mask, boostecl=False)
    size = ref.get_size()
    modules = tuple(tuple(ref.get_module(x, y) for x in range(size)) for y in range(size))
    return ref.get_version(), ref.get_mask(), modules


@pytest.mark.parametrize("ecc", LEVELS)
def test_qr_matches_the_reference_library_module_for_module_at_every_version(ecc: str) -> None:
    pytest.importorskip("qrcodegen")
    rnd = random.Random(f"ref-{ecc}")
    for version in range(1, 41):
        payload = bytes(rnd.randrange(256) for _ in range(qr.byte_capacity(version, ecc)))
        mask = rnd.randrange(8)
        code = qr.encode(payload, ecc=ecc, mask=mask)
        assert (code.version, code.mask, code.modules) == reference_matrix(payload, ecc, version, mask), version


@pytest.mark.parametrize("ecc", ["L", "M"])
def test_qr_chooses_the_same_mask_as_the_reference_library(ecc: str) -> None:
    # The penalty score decides the mask: the same rules must give the same choice, symbol for symbol.
    pytest.importorskip("qrcodegen")
    rnd = random.Random(f"mask-{ecc}")
    names = ["alice", "bob.smith", "ops-admin", "José", "x" * 40]
    uris = [TYPICAL_URI] + [uri_of_length(rnd.randrange(90, 260), name) for name in names for _ in range(6)]
    chosen = set()
    for uri in uris:
        code = qr.encode(uri, ecc=ecc)
        assert (code.version, code.mask, code.modules) == reference_matrix(uri.encode(), ecc), uri
        chosen.add(code.mask)
    assert len(chosen) >= 4  # the inputs really exercise the choice


def zxing_read(pixels: list[list[bool]], scale: int, *, dark_ground: bool = False) -> bytes | None:
    """Read a picture (True = dark pixel) with zxing-cpp, as a phone would (no inverted-code retry)."""
    zxingcpp = pytest.importorskip("zxingcpp")
    margin = [[dark_ground] * len(pixels[0])] * 8
    rows = margin + pixels + margin
    image = bytes(
        0 if dark else 255
        for row in rows
        for _ in range(scale)
        for dark in [dark_ground] * 8 + list(row) + [dark_ground] * 8
        for _ in range(scale)
    )
    width = (len(pixels[0]) + 16) * scale
    view = memoryview(image).cast("B", (len(rows) * scale, width))
    result = zxingcpp.read_barcode(view, formats=zxingcpp.BarcodeFormat.QRCode, try_invert=False)
    return None if result is None else result.bytes


def terminal_pixels(lines: list[str], *, dark_theme: bool) -> list[list[bool]]:
    """What a screen shows: each character cell 1 wide by 2 tall (half a cell is a square module),
    the glyph in the foreground colour on the background colour."""
    foreground_is_dark = not dark_theme
    rows = []
    for line in lines:
        for half in (0, 1):
            rows.append([foreground_is_dark if GLYPHS[ch][half] else not foreground_is_dark for ch in line])
    return rows


@pytest.mark.parametrize("ecc", ["L", "M"])
def test_qr_a_real_decoder_reads_the_symbol(ecc: str) -> None:
    pytest.importorskip("zxingcpp")
    for uri in (TYPICAL_URI, uri_of_length(30), uri_of_length(300)):
        code = qr.encode(uri, ecc=ecc)
        quiet = [[False] * (code.size + 8)] * 4
        pixels = quiet + [[False] * 4 + list(row) + [False] * 4 for row in code.modules] + quiet
        assert zxing_read(pixels, 4) == uri.encode()


@pytest.mark.parametrize("quiet", [1, 2])
@pytest.mark.parametrize("dark_theme", [True, False])
def test_qr_a_real_decoder_reads_the_terminal_rendering(quiet: int, dark_theme: bool) -> None:
    # Dark theme: light glyphs on a dark terminal (invert=False); light theme: dark glyphs (invert=True).
    # Around the text is the terminal's own background.
    pytest.importorskip("zxingcpp")
    code = qr.encode(TYPICAL_URI)
    lines = qr.render_half_blocks(code, quiet=quiet, invert=not dark_theme)
    screen = terminal_pixels(lines, dark_theme=dark_theme)
    assert zxing_read(screen, 3, dark_ground=dark_theme) == TYPICAL_URI.encode()
    # The wrong choice for the theme is a negative image, which a plain scanner does not read.
    wrong = qr.render_half_blocks(code, quiet=quiet, invert=dark_theme)
    assert zxing_read(terminal_pixels(wrong, dark_theme=dark_theme), 3, dark_ground=dark_theme) is None
