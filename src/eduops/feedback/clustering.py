"""Grouping similar feedback: jieba words, TF-IDF, LSA and k-means, within each category.

The keyword categories give the coarse themes (and texts no rule knows land in ``other``, where the
clustering alone finds the themes); inside a category k-means splits distinct issues when the
silhouette says they really are distinct. Each cluster gets its top terms (the highest mean TF-IDF
weights of its members) and the examples closest to its centre, so a reader sees the theme at once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eduops.feedback.text import categorize, words


@dataclass
class Cluster:
    members: list[int]  # indexes into the input texts, closest to the centre first
    top_terms: list[str]
    category: str
    examples: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def label(self) -> str:
        return " / ".join(self.top_terms[:3])


@dataclass(frozen=True)
class ClusterRules:
    max_per_category: int = 3  # at most this many clusters inside one category
    min_size: int = 3  # smaller groups are not reported as clusters
    min_share: float = 0.15  # a split-off part holds at least this share of its category
    min_silhouette: float = 0.25  # split a category only when the parts are this distinct
    min_split_size: int = 24  # a category with fewer texts stays one cluster
    n_terms: int = 6
    n_examples: int = 3
    seed: int = 0


def cluster_texts(
    texts: list[str], categories: list[str] | None = None, rules: ClusterRules = ClusterRules()
) -> list[Cluster]:
    """Clusters of similar texts, biggest first; ``categories`` default to the keyword rules."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    categories = categories or [categorize(t) for t in texts]
    docs = [words(t) for t in texts]
    keep = [i for i, d in enumerate(docs) if d]
    if len(keep) < rules.min_size:
        return []
    # in a small set one theme may be most of the texts: only a large set drops words as too common
    max_df = 0.5 if len(keep) >= 50 else 1.0
    vectorizer = TfidfVectorizer(analyzer=lambda d: d, min_df=2, max_df=max_df, sublinear_tf=True)
    try:
        tfidf = vectorizer.fit_transform([docs[i] for i in keep])
    except ValueError:  # no word appears in two texts
        return []
    vocab = vectorizer.get_feature_names_out()
    n_components = max(1, min(100, tfidf.shape[1] - 1, len(keep) - 1))
    reduced = normalize(TruncatedSVD(n_components=n_components, random_state=rules.seed).fit_transform(tfidf))

    by_category: dict[str, list[int]] = defaultdict(list)
    for row, i in enumerate(keep):
        by_category[categories[i]].append(row)
    clusters: list[Cluster] = []
    for category, rows in by_category.items():
        for part in _split(reduced, np.array(rows), rules):
            if len(part) < rules.min_size:
                continue
            weights = np.asarray(tfidf[part].mean(axis=0)).ravel()
            terms = [str(vocab[j]) for j in np.argsort(-weights)[: rules.n_terms] if weights[j] > 0]
            centre = reduced[part].mean(axis=0)
            members = [keep[r] for r in part[np.argsort(-(reduced[part] @ centre))]]
            clusters.append(Cluster(members, terms, category, _distinct([texts[i] for i in members], rules.n_examples)))
    return sorted(clusters, key=lambda c: (-c.size, c.label))


def _split(vectors: Any, rows: Any, rules: ClusterRules) -> list[Any]:
    """The rows as one group, or as k-means parts when the silhouette shows distinct issues."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    if len(rows) < max(2 * rules.min_size, rules.min_split_size) or rules.max_per_category < 2:
        return [rows]
    points = vectors[rows]
    best: tuple[float, Any] = (rules.min_silhouette, None)
    for k in range(2, min(rules.max_per_category, len(rows) // rules.min_size) + 1):
        labels = KMeans(n_clusters=k, n_init=3, random_state=rules.seed).fit_predict(points)
        if min(np.bincount(labels, minlength=k)) < max(rules.min_size, rules.min_share * len(rows)):
            continue
        score = float(silhouette_score(points, labels, sample_size=min(len(rows), 1000), random_state=rules.seed))
        if score > best[0]:
            best = (score, labels)
    if best[1] is None:
        return [rows]
    return [rows[best[1] == label] for label in sorted(set(best[1]))]


def _distinct(texts: list[str], n: int) -> list[str]:
    seen: list[str] = []
    for t in texts:
        if t not in seen:
            seen.append(t)
        if len(seen) == n:
            break
    return seen
