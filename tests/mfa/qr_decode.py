"""A strict QR Code decoder for a module matrix (no image processing), for testing keytui/core/qr.py.

Written apart from the encoder and sharing no code with it: its own tables (alignment centres from
ISO/IEC 18004 Annex E), its own GF(256) arithmetic (log/antilog tables, syndromes rather than division)
and its own walk over the matrix. It corrects nothing: every function pattern, both copies of the
format (and version) information, every block's Reed–Solomon check, the remainder bits, the terminator
and the pad codewords must be exactly right, or it raises DecodeError. Coordinates are (row, col).
"""

from __future__ import annotations

from dataclasses import dataclass


class DecodeError(Exception):
    pass


@dataclass(frozen=True)
class Decoded:
    version: int
    ecc: str
    mask: int
    data: bytes


# ISO/IEC 18004 Annex E: row/column coordinates of the alignment pattern centres.
ALIGNMENT_CENTRES = {
    1: [], 2: [6, 18], 3: [6, 22], 4: [6, 26], 5: [6, 30], 6: [6, 34],
    7: [6, 22, 38], 8: [6, 24, 42], 9: [6, 26, 46], 10: [6, 28, 50], 11: [6, 30, 54], 12: [6, 32, 58],
    13: [6, 34, 62], 14: [6, 26, 46, 66], 15: [6, 26, 48, 70], 16: [6, 26, 50, 74], 17: [6, 30, 54, 78],
    18: [6, 30, 56, 82], 19: [6, 30, 58, 86], 20: [6, 34, 62, 90], 21: [6, 28, 50, 72, 94],
    22: [6, 26, 50, 74, 98], 23: [6, 30, 54, 78, 102], 24: [6, 28, 54, 80, 106], 25: [6, 32, 58, 84, 110],
    26: [6, 30, 58, 86, 114], 27: [6, 34, 62, 90, 118], 28: [6, 26, 50, 74, 98, 122],
    29: [6, 30, 54, 78, 102, 126], 30: [6, 26, 52, 78, 104, 130], 31: [6, 30, 56, 82, 108, 134],
    32: [6, 34, 60, 86, 112, 138], 33: [6, 30, 58, 86, 114, 142], 34: [6, 34, 62, 90, 118, 146],
    35: [6, 30, 54, 78, 102, 126, 150], 36: [6, 24, 50, 76, 102, 128, 154], 37: [6, 28, 54, 80, 106, 132, 158],
    38: [6, 32, 58, 84, 110, 136, 162], 39: [6, 26, 54, 82, 110, 138, 166], 40: [6, 30, 58, 86, 114, 142, 170],
}  # fmt: skip

# ISO/IEC 18004 table 9, per level, for versions 1..40: the number of blocks, and the ECC codewords in each.
_BLOCKS = {
    "L": "1 1 1 1 1 2 2 2 2 4 4 4 4 4 6 6 6 6 7 8 8 9 9 10 12 12 12 13 14 15 16 17 18 19 19 20 21 22 24 25",
    "M": "1 1 1 2 2 4 4 4 5 5 5 8 9 9 10 10 11 13 14 16 17 17 18 20 21 23 25 26 28 29 31 33 35 37 38 40 43 45 47 49",  # noqa: E501
    "Q": "1 1 2 2 4 4 6 6 8 8 8 10 12 16 12 17 16 18 21 20 23 23 25 27 29 34 34 35 38 40 43 45 48 51 53 56 59 62 65 68",  # noqa: E501
    "H": "1 1 2 4 4 4 5 6 8 8 11 11 16 16 18 16 19 21 25 25 25 34 30 32 35 37 40 42 45 48 51 54 57 60 63 66 70 74 77 81",  # noqa: E501
}
_ECC_PER_BLOCK = {
    "L": "7 10 15 20 26 18 20 24 30 18 20 24 26 30 22 24 28 30 28 28 28 28 30 30 26 28 30 30 30 30 30 30 30 30 30 30 30 30 30 30",  # noqa: E501
    "M": "10 16 26 18 24 16 18 22 22 26 30 22 22 24 24 28 28 26 26 26 26 28 28 28 28 28 28 28 28 28 28 28 28 28 28 28 28 28 28 28",  # noqa: E501
    "Q": "13 22 18 26 18 24 18 22 20 24 28 26 24 20 30 24 28 28 26 30 28 30 30 30 30 28 30 30 30 30 30 30 30 30 30 30 30 30 30 30",  # noqa: E501
    "H": "17 28 22 16 22 28 26 26 24 28 24 28 22 24 24 30 28 28 26 28 30 24 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30",  # noqa: E501
}
_LEVEL_OF_FORMAT_BITS = {0b01: "L", 0b00: "M", 0b11: "Q", 0b10: "H"}

# ISO/IEC 18004 table 10, with i = row and j = column: the module is inverted where the condition holds.
_MASK_CONDITIONS = {
    0: lambda i, j: (i + j) % 2 == 0,
    1: lambda i, j: i % 2 == 0,
    2: lambda i, j: j % 3 == 0,
    3: lambda i, j: (i + j) % 3 == 0,
    4: lambda i, j: (i // 2 + j // 3) % 2 == 0,
    5: lambda i, j: (i * j) % 2 + (i * j) % 3 == 0,
    6: lambda i, j: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
    7: lambda i, j: ((i * j) % 3 + (i + j) % 2) % 2 == 0,
}



def _gf_tables() -> tuple[list[int], dict[int, int]]:
    """GF(256) with the QR polynomial x^8+x^4+x^3+x^2+1: α^k for k < 510 (so sums of two logs index it
    directly) and the log of every non-zero element."""
    exp = [1]
    while len(exp) < 510:
        exp.append((exp[-1] << 1) ^ (0x11D if exp[-1] & 0x80 else 0))
    return exp, {exp[k]: k for k in range(255)}


_EXP, _LOG = _gf_tables()


def decode(matrix: object) -> Decoded:
    """`matrix[row][col]` truthy = dark. Returns the version, level, mask and the byte-mode payload."""
    grid = [[bool(m) for m in row] for row in matrix]  # type: ignore[attr-defined]
    size = len(grid)
    if any(len(row) != size for row in grid) or size < 21 or size > 177 or (size - 17) % 4:
        raise DecodeError(f"not a QR code matrix: {size} rows of lengths {sorted({len(r) for r in grid})}")
    version = (size - 17) // 4
    function = _check_function_patterns(grid, version)
    ecc, mask = _read_format(grid)
    if version >= 7:
        _check_version_info(grid, version)
    bits = _read_data_bits(grid, function, mask)
    codewords = _deinterleave_and_check(bits, version, ecc)
    return Decoded(version, ecc, mask, _parse_byte_segments(codewords, version))


# ---- Function patterns ----


def _check_function_patterns(grid: list[list[bool]], version: int) -> set[tuple[int, int]]:
    """Check every fixed pattern and return the set of non-data modules (also format/version areas)."""
    size = len(grid)
    function: set[tuple[int, int]] = set()

    def expect(row: int, col: int, dark: bool, what: str) -> None:
        if grid[row][col] != dark:
            raise DecodeError(f"{what}: module (row {row}, col {col}) should be {'dark' if dark else 'light'}")
        function.add((row, col))

    for top, left in ((0, 0), (0, size - 7), (size - 7, 0)):
        for r in range(-1, 8):
            for c in range(-1, 8):
                if 0 <= top + r < size and 0 <= left + c < size:
                    ring = max(abs(r - 3), abs(c - 3))  # 0..3 inside the finder, 4 = separator
                    expect(top + r, left + c, ring in (0, 1, 3), "finder pattern or separator")
    for k in range(8, size - 8):
        expect(6, k, k % 2 == 0, "horizontal timing pattern")
        expect(k, 6, k % 2 == 0, "vertical timing pattern")
    centres = ALIGNMENT_CENTRES[version]
    for row in centres:
        for col in centres:
            if _near_finder(row, col, size):
                continue  # the three corners hold finder patterns instead
            for r in range(-2, 3):
                for c in range(-2, 3):
                    expect(row + r, col + c, max(abs(r), abs(c)) != 1, "alignment pattern")
    expect(size - 8, 8, True, "dark module")
    for copy in _format_coordinates(size) + (_version_coordinates(size) if version >= 7 else ()):
        function.update(copy)
    return function


def _near_finder(row: int, col: int, size: int) -> bool:
    """Within the 9×9 corner area of a finder pattern, its separator and the format information."""
    return (row < 9 or row >= size - 8) and (col < 9 or col >= size - 8) and (row < 9 or col < 9)


# ---- Format and version information ----


def _format_coordinates(size: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(row, col) of format bits 0..14, least significant first, for each copy."""
    near_top_left = [(r, 8) for r in (0, 1, 2, 3, 4, 5, 7, 8)] + [(8, c) for c in (7, 5, 4, 3, 2, 1, 0)]
    split = [(8, size - 1 - k) for k in range(8)] + [(size - 7 + k, 8) for k in range(7)]
    return near_top_left, split


def _version_coordinates(size: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(row, col) of version bits 0..17 in the bottom-left block and in the top-right block."""
    bottom_left = [(size - 11 + k % 3, k // 3) for k in range(18)]
    top_right = [(k // 3, size - 11 + k % 3) for k in range(18)]
    return bottom_left, top_right


def _read_bits(grid: list[list[bool]], coordinates: list[tuple[int, int]]) -> int:
    return sum(grid[r][c] << k for k, (r, c) in enumerate(coordinates))


def _poly_mod(value: int, generator: int) -> int:
    """Remainder of the GF(2) polynomial `value` divided by `generator`."""
    while value.bit_length() >= generator.bit_length():
        value ^= generator << (value.bit_length() - generator.bit_length())
    return value


def _read_format(grid: list[list[bool]]) -> tuple[str, int]:
    first, second = (_read_bits(grid, copy) for copy in _format_coordinates(len(grid)))
    if first != second:
        raise DecodeError(f"the two format information copies differ: {first:015b} vs {second:015b}")
    unmasked = first ^ 0b101010000010010
    if _poly_mod(unmasked, 0b10100110111) != 0:
        raise DecodeError(f"format information {first:015b} fails its BCH(15,5) check")
    data = unmasked >> 10
    return _LEVEL_OF_FORMAT_BITS[data >> 3], data & 0b111


def _check_version_info(grid: list[list[bool]], version: int) -> None:
    copies = [_read_bits(grid, coords) for coords in _version_coordinates(len(grid))]
    if copies[0] != copies[1]:
        raise DecodeError(f"the two version information copies differ: {copies[0]:018b} vs {copies[1]:018b}")
    if copies[0] >> 12 != version or _poly_mod(copies[0], 0b1111100100101) != 0:
        raise DecodeError(f"version information {copies[0]:018b} is not a valid code for version {version}")


# ---- Data ----


def _read_data_bits(grid: list[list[bool]], function: set[tuple[int, int]], mask: int) -> list[int]:
    """Unmasked data bits in placement order: two-column strips from the right, the first going up,
    the next down, and so on; the strip that would hold the vertical timing column is shifted left."""
    size = len(grid)
    condition = _MASK_CONDITIONS[mask]
    bits = []
    for strip in range((size - 1) // 2):
        right = size - 1 - 2 * strip
        if right <= 6:
            right -= 1
        rows = range(size - 1, -1, -1) if strip % 2 == 0 else range(size)
        for row in rows:
            for col in (right, right - 1):
                if (row, col) not in function:
                    bits.append(int(grid[row][col] ^ condition(row, col)))
    remainder = len(bits) % 8
    if remainder not in (0, 3, 4, 7) or any(bits[len(bits) - remainder :]):
        raise DecodeError(f"remainder bits {bits[len(bits) - remainder:]} should be {remainder} zeros")
    return bits[: len(bits) - remainder]


def _gf_mul(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else _EXP[_LOG[a] + _LOG[b]]


def _syndromes(block: list[int], count: int) -> list[int]:
    """The block as a polynomial (first codeword = highest power) evaluated at α^0 … α^(count-1)."""
    result = []
    for k in range(count):
        value = 0
        for codeword in block:
            value = _gf_mul(value, _EXP[k]) ^ codeword  # Horner's rule
        result.append(value)
    return result


def _deinterleave_and_check(bits: list[int], version: int, ecc: str) -> list[int]:
    codewords = [int("".join(map(str, bits[k : k + 8])), 2) for k in range(0, len(bits), 8)]
    num_blocks = int(_BLOCKS[ecc].split()[version - 1])
    ecc_len = int(_ECC_PER_BLOCK[ecc].split()[version - 1])
    num_long = len(codewords) % num_blocks
    short_data = len(codewords) // num_blocks - ecc_len
    data_lengths = [short_data] * (num_blocks - num_long) + [short_data + 1] * num_long
    blocks: list[list[int]] = [[] for _ in range(num_blocks)]
    stream = iter(codewords)
    for k in range(short_data + 1):
        for b in range(num_blocks):
            if k < data_lengths[b]:
                blocks[b].append(next(stream))
    for _ in range(ecc_len):
        for block in blocks:
            block.append(next(stream))
    for b, block in enumerate(blocks):
        if any(_syndromes(block, ecc_len)):
            raise DecodeError(f"block {b} of {num_blocks} fails its Reed–Solomon check")
    return [codeword for b, block in enumerate(blocks) for codeword in block[: data_lengths[b]]]


def _parse_byte_segments(codewords: list[int], version: int) -> bytes:
    bits = "".join(f"{c:08b}" for c in codewords)
    count_width = 8 if version < 10 else 16
    position, payload = 0, bytearray()
    while len(bits) - position >= 4:
        mode = bits[position : position + 4]
        position += 4
        if mode == "0000":
            break
        if mode != "0100":
            raise DecodeError(f"segment mode {mode} at bit {position - 4}: only byte mode (0100) is expected")
        count = int(bits[position : position + count_width], 2)
        position += count_width
        end = position + 8 * count
        if end > len(bits):
            raise DecodeError(f"byte segment of {count} bytes runs past the data codewords")
        payload += bytes(int(bits[k : k + 8], 2) for k in range(position, end, 8))
        position = end
    padding_bits = -position % 8
    if "1" in bits[position : position + padding_bits]:
        raise DecodeError("the bits after the terminator up to a codeword boundary should be zeros")
    pads = codewords[(position + padding_bits) // 8 :]
    if pads != [(0xEC, 0x11)[k % 2] for k in range(len(pads))]:
        raise DecodeError(f"pad codewords {pads} should alternate 0xEC, 0x11")
    return bytes(payload)
