"""Test documents built in code, so the repository holds no binary fixtures."""

from pathlib import Path


def minimal_pdf(pages: list[list[str]], title: str) -> bytes:
    """A small valid PDF: one text line per entry, Helvetica, one page per list."""
    font = 3 + 2 * len(pages)
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [{}] /Count {} >>".format(
            " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages))), len(pages)
        ),
    ]
    for i, lines in enumerate(pages):
        shown = " 0 -16 Td ".join(f"({line}) Tj" for line in lines)
        stream = f"BT /F1 12 Tf 72 720 Td {shown} ET"
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font} 0 R >> >> >>"
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    objects.append(f"<< /Title ({title}) >>")
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return out


def write_bad_input_corpus(root: Path, max_bytes: int) -> dict[str, str]:
    """Every kind of bad input a source meets, written below ``root``; returns each file's path and
    the start of the reason it must be skipped with. A file outside ``root`` is linked to."""
    files: dict[str, bytes] = {
        "empty.md": b"",
        "blank.txt": b"   \n\n",
        "binary.txt": b"abc\x00\x01\x02",
        "latin1.md": "caf\xe9".encode("latin-1"),
        "big.md": b"x" * (max_bytes + 1),
        "image.png": b"\x89PNG",
        "only-chrome.html": b"<nav>menu</nav><footer>foot</footer>",
        "broken.pdf": minimal_pdf([["Cut short"]], "Broken")[:150],
    }
    for name, content in files.items():
        (root / name).write_bytes(content)
    (root / "loop").symlink_to(root, target_is_directory=True)
    (root / "cycle-a.md").symlink_to(root / "cycle-b.md")
    (root / "cycle-b.md").symlink_to(root / "cycle-a.md")
    outside = root.parent / f"{root.name}-secret.md"
    outside.write_text("# Outside\n\nnot for the index\n")
    (root / "escape.md").symlink_to(outside)
    return {
        "empty.md": "empty file",
        "blank.txt": "empty file",
        "binary.txt": "binary content",
        "latin1.md": "not valid UTF-8 (byte 3)",
        "big.md": f"larger than the {max_bytes:,}-byte limit ({max_bytes + 1:,} bytes)",
        "image.png": "unsupported file type '.png'",
        "only-chrome.html": "no text left after removing markup",
        "broken.pdf": "not a readable PDF",
        "loop": "link to a folder, not followed",
        "cycle-a.md": "unreadable: ",
        "cycle-b.md": "unreadable: ",
        "escape.md": "link to a file outside the source folder",
    }
