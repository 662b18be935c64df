"""Helpers for tests/it/html.rs, run with the Python that has html5lib (DRIFT_HTML5LIB_PYTHON).

  inspect.py parse FILE.html   strict HTML5 parse (any parse error fails), then prints one JSON
                               object: the element names used, every attribute name, every
                               src/href value, and the text of every <style>.
  inspect.py colours FILE.png  prints the number of distinct RGBA colours in a PNG (8-bit
                               RGB/RGBA, non-interlaced: what chromium writes), decoded with zlib.
"""
import json
import struct
import sys
import zlib


def parse(path):
    import html5lib

    with open(path, "rb") as f:
        data = f.read()
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    tree = parser.parse(data)  # raises html5lib.html5parser.ParseError on any error
    names, attrs, refs, styles = set(), set(), [], []
    for el in tree.iter():
        tag = el.tag if isinstance(el.tag, str) else "#comment"
        tag = tag.split("}")[-1]
        names.add(tag)
        for k, v in el.attrib.items():
            k = k.split("}")[-1] if isinstance(k, str) else str(k)
            attrs.add(k)
            if k in ("src", "href", "xlink:href", "srcset", "action", "formaction", "poster", "data"):
                refs.append([tag, k, v])
        if tag == "style":
            styles.append(el.text or "")
    print(json.dumps({"elements": sorted(names), "attributes": sorted(attrs), "refs": refs, "styles": styles}))


def colours(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    seen = set()
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if y % 4 == 0:  # every fourth row is plenty to tell a blank page from a report
            seen.update(bytes(line[i : i + bpp]) for i in range(0, stride, bpp))
        prev = line
    print(len(seen))


if __name__ == "__main__":
    {"parse": parse, "colours": colours}[sys.argv[1]](sys.argv[2])
