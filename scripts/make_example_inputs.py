#!/usr/bin/env python3
"""Writes the small binary inputs the examples ship: one-page PDF pitch decks
(examples/pitchdeck_eval*/input/) and a whiteboard photo stand-in, a PNG
(examples/whiteboard_planner/input/). Standard library only; the output is
the same bytes every time, so re-running it changes nothing in git.

    python3 scripts/make_example_inputs.py
"""
import os
import struct
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DECKS = {
    "aurora-solar.pdf": ["Aurora Solar Roofs", "Problem: rooftop solar installs take 12 weeks.",
                         "Solution: prefabricated panels fitted in one day.",
                         "Traction: 140 homes, 2.1M USD revenue.", "Ask: 4M USD seed."],
    "quill-notes.pdf": ["Quill Notes", "Problem: students lose handwritten notes.",
                        "Solution: a pen that syncs every stroke to the cloud.",
                        "Traction: 900 pre-orders.", "Ask: 1.5M USD pre-seed."],
}


def pdf(lines):
    """A valid one-page PDF (Helvetica text), with a correct xref table."""
    text = "BT /F1 18 Tf 72 720 Td 24 TL " + " ".join(
        "(%s) '" % l.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for l in lines) + " ET"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text.encode()),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, o)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


def png(width, height, pixel):
    """A valid RGB PNG; pixel(x, y) -> (r, g, b)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\0" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def whiteboard(x, y):
    # a white board with three coloured sticky notes in a row
    for i, colour in enumerate([(250, 220, 80), (120, 200, 250), (250, 140, 160)]):
        if 8 + i * 20 <= x < 22 + i * 20 and 12 <= y < 26:
            return colour
    return (245, 245, 245)


def write(path, data):
    path = os.path.join(ROOT, path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    for example in ("pitchdeck_eval", "pitchdeck_eval_stabilized"):
        for name, lines in DECKS.items():
            write(f"examples/{example}/input/{name}", pdf(lines))
    write("examples/whiteboard_planner/input/launch-roadmap.png", png(72, 40, whiteboard))
