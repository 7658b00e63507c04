#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpus (corpus/<target>/) and dictionaries (<target>.dict).

Small valid inputs of every kind each reader takes, so libFuzzer starts from the formats rather
than from nothing; tools/fuzz.sh copies them before a run, so the committed corpus never grows by
itself. Deterministic: run it again and nothing changes (gzip files carry no time stamp).

    python3 tests/fuzz/make_corpus.py
"""
import gzip
import io
import json
import pathlib
import struct
import tarfile

HERE = pathlib.Path(__file__).resolve().parent


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def write(target: str, name: str, data: bytes) -> None:
    path = HERE / "corpus" / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def tar(entries, fmt=tarfile.GNU_FORMAT) -> bytes:
    """entries: (name, bytes) for files, (name/, None) for folders, (name, '->target') for links."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as t:
        for name, data in entries:
            info = tarfile.TarInfo(name.rstrip("/"))
            info.mtime = 0
            if data is None:
                info.type = tarfile.DIRTYPE
                t.addfile(info)
            elif isinstance(data, str):
                info.type = tarfile.SYMTYPE
                info.linkname = data[2:]
                t.addfile(info)
            else:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    # tarfile pads to 10 KiB records; keep the entries and the two zero blocks that end an archive.
    raw = out.getvalue().rstrip(b"\0")
    return raw + b"\0" * (-len(raw) % 512 + 1024)


def tar_seeds() -> None:
    imdb = [("aclImdb/", None), ("aclImdb/train/neg/1_2.txt", b"Bad acting.<br />Worse plot."),
            ("aclImdb/train/pos/2_9.txt", "Caf\u00e9 scenes, lovely!".encode()),
            ("aclImdb/test/neg/3_1.txt", b"dull"), ("aclImdb/test/pos/4_10.txt", b"great")]
    write("tar_gz", "imdb.tar.gz", gz(tar(imdb)))
    write("tar_gz", "imdb.tar", tar(imdb))
    write("tar_gz", "ustar.tar", tar([("a/", None), ("a/b.txt", b"b\n")], tarfile.USTAR_FORMAT))
    long = "d" * 120 + "/" + "f" * 40 + ".txt"
    write("tar_gz", "gnu-long-name.tar", tar([(long, b"long name")], tarfile.GNU_FORMAT))
    write("tar_gz", "pax-path.tar", tar([(long, b"pax name"), ("\u00e9t\u00e9.txt", b"utf-8 name")], tarfile.PAX_FORMAT))
    write("tar_gz", "link.tar", tar([("x.txt", b"x"), ("y.txt", "->x.txt")]))
    write("tar_gz", "reject.tar", tar([("reject", b"refused by the tree check")]))
    write("tar_gz", "empty.tar", b"\0" * 1024)
    write("tar_gz", "two-members.tar.gz", gz(tar([("one.txt", b"1")])[:512 + 512]) + gz(b"\0" * 1024))


def input_file_seeds() -> None:
    text = b"".join(b"line %d of a small corpus\n" % i for i in range(20))
    write("input_file", "text.gz", gz(text))
    write("input_file", "text.txt", text)
    write("input_file", "two-members.gz", gz(b"first member\n") + gz(b"second member\n"))
    write("input_file", "padded.gz", gz(b"zeros after me\n") + b"\0" * 16)
    write("input_file", "nul.txt", b"a line\nwith a \0 byte\n")
    write("input_file", "utf8.txt", "gro\u00dfe \u00c4pfel \u201cquoted\u201d\n".encode())
    write("input_file", "stored.gz", gzip.compress(b"not compressed at all", compresslevel=0, mtime=0))


def corpus_pair(src: bytes, trg: bytes) -> bytes:
    return struct.pack("<H", len(src)) + src + trg


def parallel_corpus_seeds() -> None:
    de = "ein hund l\u00e4uft .\nzwei katzen spielen .\n".encode()
    en = b"a dog runs .\r\ntwo cats play .\n"
    write("parallel_corpus", "plain.bin", corpus_pair(de, en))
    write("parallel_corpus", "gzip.bin", corpus_pair(gz(de), gz(en)))
    write("parallel_corpus", "mismatch.bin", corpus_pair(de, b"only one line\n"))


def imdb_record(kind: int, name: bytes, content: bytes = b"") -> bytes:
    record = bytes([kind]) + name + b"\n"
    if (kind >> 2) & 7 in (0, 1, 2, 3):
        record += bytes([len(content)]) + content
    return record


def imdb_seeds() -> None:
    # kind: bit 0 test/train, bit 1 pos/neg, bits 2-4 what (0-2 review, 3 other file, 4 folder,
    # 5 link to itself, 6 link to "..", 7 dangling link)
    tree = (imdb_record(0, b"10_2", b"Terrible.<br />Just terrible.") + imdb_record(0, b"2_1", b"Bad acting")
            + imdb_record(2, b"7_9", "A masterpiece! Caf\u00e9".encode()) + imdb_record(1, b"1_4", b"meh")
            + imdb_record(3, b"1_8", b"good"))
    write("imdb", "tree.bin", b"\x00" + tree)
    write("imdb", "per-class.bin", b"\x02" + tree + imdb_record(2, b"notes", b"odd name") + imdb_record(0, b"3_3", b""))
    write("imdb", "odd-entries.bin", b"\x00" + tree + imdb_record(3 << 2, b"README", b"not a review")
          + imdb_record(4 << 2, b"folder") + imdb_record(5 << 2 | 2, b"loop") + imdb_record(6 << 2 | 1, b"up")
          + imdb_record(7 << 2 | 3, b"dangling"))


def tokenizer_seeds() -> None:
    texts = {
        "review.txt": "This movie was GREAT!<br /><br />I'd see it again... 10/10 \"Quoted\" -- 'single' 80s",
        "utf8-review.txt": "Caf\u00e9 \u00c9CLAIR na\u00efve \u00c0 \u00d7 \u00de \U0001F3AC \u20ac",
        "sentence-en.txt": "A little boy playing GameCube at a McDonald's. A blond-haired \"kid\" & 3.5 dogs!",
        "sentence-de.txt": "Ein \u201eMongolian BBQ\u201c-Schild und Limonade- und Bierdosen. \u00abZitat\u00bb 1,000\u00a0m",
    }
    for name, text in texts.items():
        write("tokenizer", name, text.encode())
    write("tokenizer", "invalid-utf8.txt", b"caf\xe9 \xc3 \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xc3<br />")


def vocab_seeds() -> None:
    # options byte (bits 0-1: specials - 1, 2-3: which special is unk, 4-7: min_freq), max_size byte,
    # the specials one per line, then the words.
    write("vocab", "imdb.bin", bytes([2, 6]) + b"<pad>\n<start>\n<oov>\nthe movie the a film the movie zebra a")
    write("vocab", "translate.bin", bytes([3 | 1 << 4, 0]) + b"<unk>\n<pad>\n<sos>\n<eos>\na b a c a c\nd")
    write("vocab", "repeated-special.bin", bytes([1, 0]) + b"<pad>\n<pad>\nwords here")


def run_config_seeds() -> None:
    imdb = {"vocab_size": 10000, "maxlen": 200, "embed_dim": 128, "hidden": 64, "dropout": 0.0, "mask": False,
            "init": "torch"}
    transformer = {"arch": "transformer", "src_vocab": 8000, "trg_vocab": 6000, "dropout": 0.1, "d_model": 256,
                   "encoder_layers": 3, "decoder_layers": 3, "heads": 8, "feed_forward": 512,
                   "positions": "learned", "max_len": 256, "scale_embeddings": True, "tie_output": False,
                   "embed": 256, "hidden": 512}
    rnn = dict(transformer, arch="rnn", positions="sinusoidal")
    write("run_config", "imdb.json", json.dumps(imdb).encode())
    write("run_config", "imdb-keras-mask.json", json.dumps(dict(imdb, init="keras", mask=True, dropout=0.5)).encode())
    write("run_config", "transformer.json", json.dumps(transformer).encode())
    write("run_config", "rnn.json", json.dumps(rnn).encode())


def dictionaries() -> None:
    (HERE / "tar_gz.dict").write_text(
        "# libFuzzer dictionary for the tar target: header magic, special names, pax keys\n"
        '"ustar\\x0000"\n"ustar  \\x00"\n"././@LongLink"\n"path="\n"size="\n"0000644\\x00"\n"00000000000\\x00"\n'
        '"aclImdb/"\n"\\x1f\\x8b\\x08"\n')
    keys = sorted({"vocab_size", "maxlen", "embed_dim", "hidden", "dropout", "mask", "init", "arch", "src_vocab",
                   "trg_vocab", "d_model", "encoder_layers", "decoder_layers", "heads", "feed_forward", "positions",
                   "max_len", "scale_embeddings", "tie_output", "embed"})
    (HERE / "run_config.dict").write_text(
        "# libFuzzer dictionary for the config target: the keys and values the configs use\n"
        + "".join(f'"\\"{k}\\""\n' for k in keys)
        + '"true"\n"false"\n"null"\n"1e308"\n"-1"\n"18446744073709551615"\n"\\"transformer\\""\n"\\"rnn\\""\n'
        '"\\"keras\\""\n"\\"torch\\""\n"\\"learned\\""\n"\\"sinusoidal\\""\n')


if __name__ == "__main__":
    tar_seeds()
    input_file_seeds()
    parallel_corpus_seeds()
    imdb_seeds()
    tokenizer_seeds()
    vocab_seeds()
    run_config_seeds()
    dictionaries()
