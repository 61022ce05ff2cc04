# GENERATED from notebooks/12_generators_compared.ipynb by `python -m tutorial export`. Edit the notebook, not this file.
# Each block below is one code cell of that notebook, in order.

COMPARE_SETTINGS = {
    "smoke": {  # seconds once the generators are trained: CI runs the whole notebook in this profile
        "n_judge": 200, "k": 3, "grid_samples": 10, "nearest_shown": 3, "nearest_k": 3, "train_limit": 2000,
        "toy_points": 300,
    },
    "laptop": {  # the generators' own notebooks' laptop checkpoints; minutes to judge them on 2 CPU cores
        "n_judge": 2000, "k": 3, "grid_samples": 12, "nearest_shown": 4, "nearest_k": 3, "train_limit": None,
        "toy_points": 1000,
    },
    "full": {  # one GPU
        "n_judge": 10000, "k": 3, "grid_samples": 12, "nearest_shown": 6, "nearest_k": 3, "train_limit": None,
        "toy_points": 2000,
    },
}


import torch


def knn_radii(features, k=3, batch_size=1000):
    """The distance from each row of ``features`` ``[N, D]`` to its ``k``-th nearest *other* row ``[N]``
    (the row itself, at distance 0, is skipped). Introduced in notebooks/12_generators_compared.ipynb."""
    if not 1 <= k < len(features):
        raise ValueError(f"k must be between 1 and N - 1 = {len(features) - 1}, got {k}")
    features = features.double()
    return torch.cat([torch.cdist(features[i:i + batch_size], features).kthvalue(k + 1, dim=1).values
                      for i in range(0, len(features), batch_size)])


def in_manifold(points, centres, radii, batch_size=1000):
    """For each row of ``points`` ``[M, D]``: does it lie within ``radii[i]`` of some ``centres[i]``? ``[M]``
    booleans. Introduced in notebooks/12_generators_compared.ipynb."""
    points, centres, radii = points.double(), centres.double(), radii.double()
    return torch.cat([(torch.cdist(points[i:i + batch_size], centres) <= radii).any(dim=1)
                      for i in range(0, len(points), batch_size)])


def manifold_precision_recall(real, fake, k=3):
    """Kynkaanniemi et al. (2019): precision, the share of ``fake`` features inside the k-NN manifold of
    ``real``; recall, the share of ``real`` features inside that of ``fake``. ``[N, D]`` and ``[M, D]``;
    returns ``(precision, recall)`` as floats. Introduced in notebooks/12_generators_compared.ipynb."""
    precision = in_manifold(fake, real, knn_radii(real, k)).double().mean()
    recall = in_manifold(real, fake, knn_radii(fake, k)).double().mean()
    return float(precision), float(recall)


import torch


def nearest_neighbours(queries, references, k=1, batch_size=500):
    """The ``k`` nearest rows of ``references`` ``[M, D]`` to each row of ``queries`` ``[N, D]`` (Euclidean):
    ``(distances [N, k], indices [N, k])``, nearest first. Introduced in notebooks/12_generators_compared.ipynb."""
    found = [torch.cdist(queries[i:i + batch_size].double(), references.double()).topk(k, dim=1, largest=False)
             for i in range(0, len(queries), batch_size)]
    return torch.cat([f.values for f in found]), torch.cat([f.indices for f in found])
