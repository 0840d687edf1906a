"""A QR Code (model 2) encoder, byte mode only, so that a virtual MFA device's `otpauth://` URI can be
shown in the terminal without a QR library (the runtime dependencies are fixed).

It follows ISO/IEC 18004 as laid out by Nayuki's "QR Code generator library": data codewords, then
Reed–Solomon ECC per block, interleaved; function patterns; the codewords in the zigzag order; the
mask with the lowest penalty; format and version information. Coordinates are (x, y) = (column, row).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

# Per error correction level, indexed by version (index 0 unused): ECC codewords in each block, and the
# number of blocks. ISO/IEC 18004 table 9, in the form of the reference library.
_ECC_PER_BLOCK = {
    "L": (0, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30),  # noqa: E501
    "M": (0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28),  # noqa: E501
    "Q": (0, 13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30, 28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30),  # noqa: E501
    "H": (0, 17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28, 30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30),  # noqa: E501
}
_NUM_BLOCKS = {
    "L": (0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25),  # noqa: E501
    "M": (0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49),  # noqa: E501
    "Q": (0, 1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, 23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68),  # noqa: E501
    "H": (0, 1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25, 25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81),  # noqa: E501
}
# The two bits the format information uses for each level (not in L, M, Q, H order).
_FORMAT_ECC_BITS = {"L": 0b01, "M": 0b00, "Q": 0b11, "H": 0b10}

# Mask patterns: a module is flipped where the predicate is true (x = column, y = row).
_MASKS = (
    lambda x, y: (x + y) % 2 == 0,
    lambda x, y: y % 2 == 0,
    lambda x, y: x % 3 == 0,
    lambda x, y: (x + y) % 3 == 0,
    lambda x, y: (x // 3 + y // 2) % 2 == 0,
    lambda x, y: x * y % 2 + x * y % 3 == 0,
    lambda x, y: (x * y % 2 + x * y % 3) % 2 == 0,
    lambda x, y: ((x + y) % 2 + x * y % 3) % 2 == 0,
)


@dataclass(frozen=True)
class QrCode:
    """A finished symbol: version 1..40, level L/M/Q/H, mask 0..7, and size = 4·version + 17 modules a side."""

    version: int
    ecc: str
    mask: int
    size: int
    modules: tuple[tuple[bool, ...], ...]  # modules[y][x]; True = dark


def encode(
    data: str | bytes, *, ecc: str = "L", min_version: int = 1, max_version: int = 40, mask: int | None = None
) -> QrCode:
    """Encode `data` (a str is UTF-8) as one byte-mode segment in the smallest version that fits."""
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if ecc not in _ECC_PER_BLOCK:
        raise ValueError(f"unknown error correction level {ecc!r}: use L, M, Q or H")
    if not 1 <= min_version <= max_version <= 40:
        raise ValueError(f"versions must satisfy 1 <= min_version <= max_version <= 40: {min_version}..{max_version}")
    if mask is not None and mask not in range(8):
        raise ValueError(f"mask must be 0..7 or None, not {mask!r}")
    version = next((v for v in range(min_version, max_version + 1) if len(payload) <= byte_capacity(v, ecc)), None)
    if version is None:
        raise ValueError(
            f"{len(payload)} bytes do not fit a QR code: version {max_version}-{ecc} holds at most "
            f"{byte_capacity(max_version, ecc)} bytes"
        )
    codewords = _interleave_with_ecc(_data_codewords(payload, version, ecc), version, ecc)
    grid, function = _function_patterns(version)
    _place_codewords(grid, function, codewords)
    if mask is None:  # the lowest penalty; the first of equals wins
        mask = min(range(8), key=lambda m: _penalty(_masked(grid, function, ecc, m)))
    modules = _masked(grid, function, ecc, mask)
    return QrCode(version, ecc, mask, len(modules), tuple(tuple(row) for row in modules))


def byte_capacity(version: int, ecc: str) -> int:
    """How many bytes one byte-mode segment can carry in this version and level."""
    header_bits = 4 + _count_bits(version)
    return (_num_data_codewords(version, ecc) * 8 - header_bits) // 8


# ---- Data and error correction codewords ----


def _count_bits(version: int) -> int:
    return 8 if version <= 9 else 16  # width of the byte-mode character count


def _num_raw_modules(version: int) -> int:
    """Modules left for data once the function patterns are drawn (the reference library's formula)."""
    result = (16 * version + 128) * version + 64
    if version >= 2:
        aligns = version // 7 + 2
        result -= (25 * aligns - 10) * aligns - 55
        if version >= 7:
            result -= 36  # two version information blocks
    return result


def _num_data_codewords(version: int, ecc: str) -> int:
    return _num_raw_modules(version) // 8 - _ECC_PER_BLOCK[ecc][version] * _NUM_BLOCKS[ecc][version]


def _data_codewords(payload: bytes, version: int, ecc: str) -> bytes:
    """Mode 0100 (byte), the count, the bytes, the 4-bit terminator, then pad bytes up to capacity."""
    bits = "0100" + format(len(payload), f"0{_count_bits(version)}b") + "".join(format(b, "08b") for b in payload)
    # Mode and count (12 or 20 bits) leave the stream 4 bits short of a byte boundary, and the capacity is
    # whole bytes: the terminator always fits whole and always brings the stream back to a boundary.
    bits += "0000"
    result = bytearray(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8))
    pads = (0xEC, 0x11)
    result.extend(pads[i % 2] for i in range(_num_data_codewords(version, ecc) - len(result)))
    return bytes(result)


def _gf_multiply(x: int, y: int) -> int:
    """Product in GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1 (0x11D), bit by bit (Russian peasant)."""
    z = 0
    for i in reversed(range(8)):
        z = (z << 1) ^ ((z >> 7) * 0x11D)
        z ^= ((y >> i) & 1) * x
    return z


def _rs_generator(degree: int) -> list[int]:
    """Coefficients (highest power first, leading 1 dropped) of (x - α^0)(x - α^1)…(x - α^(degree-1))."""
    result = [0] * (degree - 1) + [1]
    root = 1
    for _ in range(degree):
        for j in range(degree):
            result[j] = _gf_multiply(result[j], root) ^ (result[j + 1] if j + 1 < degree else 0)
        root = _gf_multiply(root, 0x02)
    return result


def _rs_remainder(data: bytes, generator: list[int]) -> bytes:
    """The ECC codewords: data(x)·x^n mod generator(x), by polynomial long division."""
    result = [0] * len(generator)
    for byte in data:
        factor = byte ^ result.pop(0)
        result.append(0)
        for i, coef in enumerate(generator):
            result[i] ^= _gf_multiply(coef, factor)
    return bytes(result)


def _interleave_with_ecc(data: bytes, version: int, ecc: str) -> bytes:
    """Split into blocks (the short ones first, the long ones one data codeword longer), append each
    block's ECC, then take the i-th codeword of every block in turn: data first, ECC after."""
    num_blocks, ecc_len = _NUM_BLOCKS[ecc][version], _ECC_PER_BLOCK[ecc][version]
    raw_codewords = _num_raw_modules(version) // 8
    num_short = num_blocks - raw_codewords % num_blocks
    short_data_len = raw_codewords // num_blocks - ecc_len
    generator = _rs_generator(ecc_len)
    blocks, start = [], 0
    for i in range(num_blocks):
        end = start + short_data_len + (0 if i < num_short else 1)
        blocks.append((data[start:end], _rs_remainder(data[start:end], generator)))
        start = end
    result = bytearray()
    for i in range(short_data_len + 1):
        result.extend(block[i] for block, _ in blocks if i < len(block))
    for i in range(ecc_len):
        result.extend(check[i] for _, check in blocks)
    return bytes(result)


# ---- The module grid ----


def _alignment_centres(version: int) -> list[int]:
    """Centre coordinates of the alignment patterns: 6, then evenly spaced (even steps) up to size-7."""
    if version == 1:
        return []
    count = version // 7 + 2
    step = (version * 8 + count * 3 + 5) // (count * 4 - 4) * 2
    size = version * 4 + 17
    return [6] + [size - 7 - i * step for i in reversed(range(count - 1))]


def _function_patterns(version: int) -> tuple[list[list[bool]], list[list[bool]]]:
    """The grid with every function pattern drawn, and which modules those are. Format information
    is drawn as light here (it is rewritten per mask) but reserved, so data never goes there."""
    size = version * 4 + 17
    grid = [[False] * size for _ in range(size)]
    function = [[False] * size for _ in range(size)]

    def put(x: int, y: int, dark: bool) -> None:
        grid[y][x], function[y][x] = dark, True

    for i in range(size):  # timing patterns; finders overwrite their ends
        put(6, i, i % 2 == 0)
        put(i, 6, i % 2 == 0)
    for cx, cy in ((3, 3), (size - 4, 3), (3, size - 4)):  # finder patterns with their separators
        for dy in range(-4, 5):
            for dx in range(-4, 5):
                if 0 <= cx + dx < size and 0 <= cy + dy < size:
                    put(cx + dx, cy + dy, max(abs(dx), abs(dy)) not in (2, 4))
    centres = _alignment_centres(version)
    finder_corners = {(6, 6), (6, size - 7), (size - 7, 6)}
    for cx in centres:
        for cy in centres:
            if (cx, cy) not in finder_corners:  # alignment patterns on the timing patterns are kept
                for dy in range(-2, 3):
                    for dx in range(-2, 3):
                        put(cx + dx, cy + dy, max(abs(dx), abs(dy)) != 1)
    for copy in _format_positions(size):
        for x, y in copy:
            put(x, y, False)
    put(8, size - 8, True)  # the dark module
    if version >= 7:
        for i, (a, b) in enumerate(_version_positions(size)):
            dark = (_version_bits(version) >> i) & 1 == 1
            put(a, b, dark)
            put(b, a, dark)
    return grid, function


def _format_positions(size: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Where bits 0..14 of the format information go: the copy around the top-left finder, and the copy
    split between the other two."""
    around = [(8, i) for i in range(6)] + [(8, 7), (8, 8), (7, 8)] + [(14 - i, 8) for i in range(9, 15)]
    split = [(size - 1 - i, 8) for i in range(8)] + [(8, size - 15 + i) for i in range(8, 15)]
    return around, split


def _version_positions(size: int) -> list[tuple[int, int]]:
    """Bit i of the version information, in the block above the bottom-left finder (its mirror image
    left of the top-right finder is the same list transposed)."""
    return [(i // 3, size - 11 + i % 3) for i in range(18)]


def _bch(value: int, value_bits: int, generator: int) -> int:
    """`value` followed by the remainder of value·x^k divided by `generator` (of degree k)."""
    degree = generator.bit_length() - 1
    remainder = value << degree
    for shift in reversed(range(value_bits)):
        if remainder >> (shift + degree) & 1:
            remainder ^= generator << shift
    return value << degree | remainder


def _format_bits(ecc: str, mask: int) -> int:
    return _bch(_FORMAT_ECC_BITS[ecc] << 3 | mask, 5, 0x537) ^ 0x5412  # xor: never all light


def _version_bits(version: int) -> int:
    return _bch(version, 6, 0x1F25)


def _place_codewords(grid: list[list[bool]], function: list[list[bool]], codewords: bytes) -> None:
    """Bits, most significant first, in two-column strips from the right edge, going up then down in
    turn; column 6 (the vertical timing pattern) is skipped. Leftover remainder bits stay light."""
    size = len(grid)
    bits = [(byte >> (7 - i)) & 1 == 1 for byte in codewords for i in range(8)]
    index = 0
    for right in range(size - 1, 0, -2):
        if right <= 6:
            right -= 1
        upward = (right + 1) & 2 == 0
        for vert in range(size):
            y = size - 1 - vert if upward else vert
            for x in (right, right - 1):
                if not function[y][x] and index < len(bits):
                    grid[y][x] = bits[index]
                    index += 1


def _masked(grid: list[list[bool]], function: list[list[bool]], ecc: str, mask: int) -> list[list[bool]]:
    """A copy of `grid` with the mask applied to the data modules and this mask's format bits drawn."""
    flip = _MASKS[mask]
    size = len(grid)
    result = [[grid[y][x] ^ (not function[y][x] and flip(x, y)) for x in range(size)] for y in range(size)]
    bits = _format_bits(ecc, mask)
    for copy in _format_positions(size):
        for i, (x, y) in enumerate(copy):
            result[y][x] = (bits >> i) & 1 == 1
    return result


# ---- Mask penalty (ISO/IEC 18004 §7.8.3, as the reference library scores it) ----


def _penalty(grid: list[list[bool]]) -> int:
    size = len(grid)
    lines = grid + [list(column) for column in zip(*grid)]
    score = sum(_line_penalty(line) for line in lines)
    score += 3 * sum(
        1
        for y in range(size - 1)
        for x in range(size - 1)
        if grid[y][x] == grid[y][x + 1] == grid[y + 1][x] == grid[y + 1][x + 1]
    )
    dark, total = sum(map(sum, grid)), size * size
    # 10 points for each full 5% that the dark share is away from 50%.
    score += 10 * ((abs(dark * 20 - total * 10) + total - 1) // total - 1)
    return score


def _line_penalty(line: list[bool]) -> int:
    """Runs of 5+ same-coloured modules (3, +1 per extra module), and finder-like dark-light-dark-light-
    dark runs of widths n:n:3n:n:n with 4n light on one side (40 per such side). Beyond the symbol is
    light, so the line is bordered with light modules before finding runs."""
    score = sum(3 + length - 5 for length in _run_lengths(line) if length >= 5)
    border = [False] * len(line)
    runs = _run_lengths(border + line + border)  # light, dark, light, …, light: dark at odd indices
    for i in range(1, len(runs) - 5, 2):
        n = runs[i]
        if runs[i + 1] == runs[i + 3] == runs[i + 4] == n and runs[i + 2] == 3 * n:
            before, after = runs[i - 1], runs[i + 5]
            score += 40 * ((before >= 4 * n and after >= n) + (after >= 4 * n and before >= n))
    return score


def _run_lengths(line: list[bool]) -> list[int]:
    return [len(list(group)) for _, group in groupby(line)]


# ---- Terminal rendering ----

_HALF_BLOCKS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def render_half_blocks(code: QrCode, *, quiet: int = 2, invert: bool = False) -> list[str]:
    """The code as text, two module rows per line, with a light quiet zone of `quiet` modules.

    A scanner needs dark modules on a light ground. A glyph is drawn in the terminal's foreground colour
    and a blank shows its background, so by default (a dark theme: light text on a dark background) the
    *light* modules are the glyphs and the dark modules are blanks. `invert=True` draws the dark modules
    instead, for a light theme. A half row past the bottom edge (odd height) is left blank, i.e. the
    terminal background. Set explicit colours where possible, so the result does not depend on the theme.
    The standard asks for a quiet zone of 4 modules; 1 or 2 read fine and keep a version-6 code (41
    modules, the typical otpauth URI) within 45×23 cells.
    """
    side = code.size + 2 * quiet

    def drawn(x: int, y: int) -> bool:
        if y >= side:
            return False
        inside = quiet <= x < quiet + code.size and quiet <= y < quiet + code.size
        dark = inside and code.modules[y - quiet][x - quiet]
        return dark == invert

    return ["".join(_HALF_BLOCKS[drawn(x, y), drawn(x, y + 1)] for x in range(side)) for y in range(0, side, 2)]


def rendered_size(code: QrCode, *, quiet: int = 2) -> tuple[int, int]:
    """(columns, rows) of `render_half_blocks(code, quiet=quiet)`."""
    side = code.size + 2 * quiet
    return side, (side + 1) // 2


def fits(code: QrCode, columns: int, rows: int, *, quiet: int = 2) -> bool:
    """Whether the rendering with this quiet zone fits in `columns` × `rows` character cells."""
    width, height = rendered_size(code, quiet=quiet)
    return width <= columns and height <= rows
