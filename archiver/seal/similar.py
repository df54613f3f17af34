"""Look-alike images in a case: the same post captured twice, a phone screenshot of a post
that was also captured, a post whose like count changed between two captures.

Read only from the manifest (the sealed facts): every artifact with a pHash in a
`capture-sealed` or `file-imported` event. Two images are linked when the Hamming distance
of their pHashes is at most the threshold; groups are the connected components
(single-linkage, union-find). Images of the same item are not linked to each other (a
capture's viewport and full-page screenshots of a short page are trivially alike), but
they can still meet in one group through another item. Nothing is deleted or changed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import combinations

from ..models import EventType, ManifestEvent

SEALED_TYPES = (EventType.CAPTURE_SEALED, EventType.FILE_IMPORTED)
PHASH_BITS = 64


@dataclass(frozen=True)
class SealedImage:
    """One sealed image artifact, as its event recorded it."""

    item: str  # the item folder, relative to the case
    artifact: str  # relative to the item folder
    time: str  # the sealing event's time (UTC)
    seq: int  # the sealing event's seq
    sha256: str
    phash: str
    kind: str  # "capture" or "import"

    @property
    def bits(self) -> int:
        return int(self.phash, 16)


@dataclass
class Member:
    image: SealedImage
    distance: int  # Hamming distance to the group's first member


@dataclass
class Group:
    members: list[Member] = field(default_factory=list)

    @property
    def first(self) -> SealedImage:
        return self.members[0].image


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def sealed_images(events: Iterable[ManifestEvent]) -> list[SealedImage]:
    """Every image artifact with a pHash in the sealing events, once per (item, artifact):
    the first event that sealed it wins."""
    seen: dict[tuple[str, str], SealedImage] = {}
    for event in events:
        if event.type not in SEALED_TYPES:
            continue
        subject = event.subject
        item = subject.get("path")
        artifacts = subject.get("artifacts")
        if not isinstance(item, str) or not isinstance(artifacts, list):
            continue
        for artifact in artifacts:
            if not isinstance(artifact, dict):
                continue
            phash, path = artifact.get("phash"), artifact.get("path")
            if not isinstance(phash, str) or not isinstance(path, str) or not _is_hash(phash):
                continue
            seen.setdefault(
                (item, path),
                SealedImage(
                    item=item,
                    artifact=path,
                    time=event.time,
                    seq=event.seq,
                    sha256=str(artifact.get("sha256", "")),
                    phash=phash.lower(),
                    kind=str(subject.get("kind", "")),
                ),
            )
    return list(seen.values())


def _is_hash(text: str) -> bool:
    if not text or len(text) * 4 > PHASH_BITS:
        return False
    try:
        int(text, 16)
    except ValueError:
        return False
    return True


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def _candidate_pairs(hashes: list[int], threshold: int) -> Iterator[tuple[int, int]]:
    """Index pairs that may be within `threshold` (a pair may come more than once).
    Pigeonhole: split the 64 bits into threshold+1 blocks; two hashes that close agree
    exactly on at least one block. Every pair when the blocks would be too small to narrow
    anything down, or there are few hashes."""
    blocks = threshold + 1
    if blocks > PHASH_BITS // 4 or len(hashes) < 64:
        yield from combinations(range(len(hashes)), 2)
        return
    bounds = [PHASH_BITS * k // blocks for k in range(blocks + 1)]
    for lo, hi in zip(bounds, bounds[1:]):
        mask = (1 << (hi - lo)) - 1
        buckets: dict[int, list[int]] = defaultdict(list)
        for index, value in enumerate(hashes):
            buckets[(value >> lo) & mask].append(index)
        for members in buckets.values():
            yield from combinations(members, 2)


def find_similar(events: Iterable[ManifestEvent], threshold: int) -> list[Group]:
    """Groups (2+ images) of look-alike sealed images, each ordered by event time (earliest
    first), the groups ordered by their first member's time."""
    if not 0 <= threshold <= PHASH_BITS:
        raise ValueError(f"threshold must be 0..{PHASH_BITS}, not {threshold}")
    images = sealed_images(events)
    # identical pHashes collapse to one node, so a thousand copies cost one comparison
    unique = sorted({img.bits for img in images})
    node_of = {value: i for i, value in enumerate(unique)}
    items_of: dict[int, set[str]] = defaultdict(set)
    for img in images:
        items_of[node_of[img.bits]].add(img.item)

    uf = _UnionFind(len(images))
    by_node: dict[int, list[int]] = defaultdict(list)
    for index, img in enumerate(images):
        by_node[node_of[img.bits]].append(index)

    def link_all(indexes: list[int]) -> None:
        for other in indexes[1:]:
            uf.union(indexes[0], other)

    # Every image of a node is at distance 0 from the others. Within one node, or within
    # two nodes close enough, all images end up connected as soon as two items are
    # involved (each has a partner of another item, or its own node is connected).
    for node, indexes in by_node.items():
        if len(items_of[node]) >= 2:
            link_all(indexes)
    for i, j in _candidate_pairs(unique, threshold):
        if (unique[i] ^ unique[j]).bit_count() <= threshold and len(items_of[i] | items_of[j]) >= 2:
            link_all(by_node[i] + by_node[j])

    components: dict[int, list[SealedImage]] = defaultdict(list)
    for index, img in enumerate(images):
        components[uf.find(index)].append(img)
    groups = []
    for members in components.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda m: (m.time, m.seq, m.item, m.artifact))
        first = members[0].bits
        groups.append(Group([Member(m, (m.bits ^ first).bit_count()) for m in members]))
    groups.sort(key=lambda g: (g.first.time, g.first.seq, g.first.item, g.first.artifact))
    return groups
