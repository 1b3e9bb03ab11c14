"""Cityscapes labels -> photos (Cordts et al., "The Cityscapes Dataset for Semantic Urban Scene
Understanding", CVPR 2016), prepared from the official archives as pix2pix / GAN Compression do.

Archives (https://www.cityscapes-dataset.com/downloads/, free account required, so no automatic
download): ``gtFine_trainvaltest.zip`` (``gtFine/{train,val}/<city>/<id>_gtFine_{color,labelIds}.png``)
and ``leftImg8bit_trainvaltest.zip`` (``gtFine``'s twin ``leftImg8bit/.../<id>_leftImg8bit.png``).

Preparation follows mit-han-lab/gan-compression ``datasets/prepare_cityscapes_dataset.py``: per
split, colour label renderings and photos are paired by their identifier (sorted), both resized to
256x256 (bicubic), and saved side by side as ``<split>/<i>.jpg`` (photo left = A, labels right = B;
JPEG quality 100, no chroma subsampling). Members are streamed from the zips: the 11 GB photo
archive is never extracted. For the evaluation split, ``<id>_gtFine_labelIds.png`` is mapped to
the 19 training ids (cityscapesScripts ``labels.py``; every other id -> 255, ignored), kept at its
native resolution (the protocol scores at the label resolution) as ``val_trainIds/<i>.png``;
``table.txt`` records which original files each index came from.

Task ``cityscapes``: labels -> photo (B -> A), scored by mIoU of DRN-D-105 on the generated photos
(``kd_gan_bench.benchmarks.metrics.segmentation``), not by FID.
"""
from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from kd_gan_bench.datasets.archives import ArchiveSource, zip_reader
from kd_gan_bench.datasets.base import ImageTranslationData, register_task
from kd_gan_bench.datasets.catalog import DatasetSpec, PrepareInputs, Validation, check_label_folder, register_dataset
from kd_gan_bench.datasets.errors import ArchiveError, LayoutError
from kd_gan_bench.datasets.image_folder import load_label_maps, no_bombs
from kd_gan_bench.datasets.pix2pix import load_aligned, validate_aligned
from kd_gan_bench.datasets import official_counts

NAME = "cityscapes"
SIZE = 256
GT_ARCHIVE, PHOTO_ARCHIVE = "gtFine_trainvaltest.zip", "leftImg8bit_trainvaltest.zip"
MANUAL = ("Cityscapes needs a (free) account: log in at https://www.cityscapes-dataset.com/downloads/ and download "
          "gtFine_trainvaltest.zip (241 MB) and leftImg8bit_trainvaltest.zip (11 GB)")
OFFICIAL_COUNTS = official_counts.CITYSCAPES
IGNORE = 255
N_CLASSES = 19

#: cityscapesScripts ``labels.py``: (label id, train id) for the 19 evaluated classes.
TRAIN_IDS = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12, 26: 13,
             27: 14, 28: 15, 31: 16, 32: 17, 33: 18}
_LUT = np.full(256, IGNORE, dtype=np.uint8)
for _id, _train_id in TRAIN_IDS.items():
    _LUT[_id] = _train_id


def label_ids_to_train_ids(label_ids: np.ndarray) -> np.ndarray:
    """Cityscapes label ids (0..33) -> train ids (0..18), everything else -> 255."""
    return _LUT[label_ids]


def _members(zf: zipfile.ZipFile, phase: str, suffix: str, archive: str) -> dict[str, str]:
    """``{identifier: member name}`` of ``<...>/<phase>/<city>/<identifier><suffix>``."""
    pattern = re.compile(rf"(?:.*/)?{phase}/[^/]+/([^/]+){re.escape(suffix)}")
    found = {m.group(1): name for name in zf.namelist() if (m := pattern.fullmatch(name))}
    if not found:
        raise ArchiveError(f"archive {archive} holds no {phase}/<city>/*{suffix} files: is it {archive}?")
    return found


def _read(zf: zipfile.ZipFile, member: str, archive: str) -> Image.Image:
    try:
        with zf.open(member) as fh, no_bombs(f"{member} of {archive}"):
            img = Image.open(fh)
            img.load()
            return img
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise ArchiveError(f"cannot read {member} from {archive} ({exc}): the archive is damaged; download it again") from None


def _build(inputs: PrepareInputs, out: Path) -> None:
    with zip_reader(inputs.archives[GT_ARCHIVE]) as gt, zip_reader(inputs.archives[PHOTO_ARCHIVE]) as photos:
        table = []
        for phase in ("train", "val"):
            colours = _members(gt, phase, "_gtFine_color.png", GT_ARCHIVE)
            pictures = _members(photos, phase, "_leftImg8bit.png", PHOTO_ARCHIVE)
            if set(colours) != set(pictures):
                odd = sorted(set(colours) ^ set(pictures))[:5]
                raise LayoutError(f"{phase}: {len(colours)} label maps in {GT_ARCHIVE} but {len(pictures)} photos in "
                                  f"{PHOTO_ARCHIVE}; unmatched identifiers: {', '.join(odd)}")
            ids = _members(gt, phase, "_gtFine_labelIds.png", GT_ARCHIVE) if phase == "val" else {}
            (out / phase).mkdir()
            if phase == "val":
                (out / "val_trainIds").mkdir()
            inputs.log(f"cityscapes {phase}: {len(colours)} pairs")
            for i, ident in enumerate(sorted(colours)):
                seg = _read(gt, colours[ident], GT_ARCHIVE).convert("RGB").resize((SIZE, SIZE), Image.BICUBIC)
                photo = _read(photos, pictures[ident], PHOTO_ARCHIVE).convert("RGB").resize((SIZE, SIZE), Image.BICUBIC)
                pair = Image.new("RGB", (2 * SIZE, SIZE))
                pair.paste(photo, (0, 0))
                pair.paste(seg, (SIZE, 0))
                pair.save(out / phase / f"{i}.jpg", format="JPEG", quality=100, subsampling=0)
                if phase == "val":
                    if ident not in ids:
                        raise LayoutError(f"{GT_ARCHIVE} has {colours[ident]} but no {ident}_gtFine_labelIds.png")
                    label = np.asarray(_read(gt, ids[ident], GT_ARCHIVE), dtype=np.uint8)
                    Image.fromarray(label_ids_to_train_ids(label)).save(out / "val_trainIds" / f"{i}.png")
                table.append(f"{phase} {i} {colours[ident]} {pictures[ident]}")
        (out / "table.txt").write_text("\n".join(table) + "\n")


def _validate(folder: Path, result: Validation) -> None:
    validate_aligned(NAME, folder, result, OFFICIAL_COUNTS)
    n_val = len(list((folder / "val").glob("*.jpg"))) if (folder / "val").is_dir() else 0
    check_label_folder(folder / "val_trainIds", "cityscapes val_trainIds", result, n_val,
                       set(range(N_CLASSES)) | {IGNORE})


register_dataset(DatasetSpec(
    name=NAME, description="Cityscapes fine annotations, labels -> photos at 256x256 with val trainIds for mIoU",
    source="Cordts et al., CVPR 2016; preparation of mit-han-lab/gan-compression",
    archives=(ArchiveSource(GT_ARCHIVE, None, manual=MANUAL), ArchiveSource(PHOTO_ARCHIVE, None, manual=MANUAL)),
    build=_build, validate=_validate, official_counts=OFFICIAL_COUNTS, extract=False))


@register_task("cityscapes")
def cityscapes(size: int, data_root: str | None, max_train: int | None, max_test: int | None) -> ImageTranslationData:
    data, test_files, root = load_aligned(NAME, "cityscapes", "BtoA", size, data_root, max_train, max_test)
    folder = test_files[0].parent.parent / "val_trainIds"
    labels = [folder / f"{p.stem}.png" for p in test_files]
    missing = [p for p in labels if not p.is_file()]
    if missing:
        raise LayoutError(f"cityscapes: {len(missing)} evaluation label maps are missing, e.g. {missing[0]}; prepare "
                          f"the dataset again (python -m kd_gan_bench.benchmarks.run datasets prepare cityscapes)")
    test_labels = load_label_maps(labels, "cityscapes/val_trainIds", root / ".cache", root)
    return ImageTranslationData(data.name, True, size, data.train_a, data.train_b, data.test_a, data.test_b,
                                test_labels=test_labels)
