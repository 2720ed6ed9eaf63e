"""Tests for notebook 1's code: sweeps, retraining, pixels, claims, their tables, figures and the widget."""

from __future__ import annotations

import base64
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.utils import prune as torch_prune  # noqa: E402

from lth_helpers import sweeps  # noqa: E402
from lth_helpers.claims_basics import compare_retrained, pruning_basics_table  # noqa: E402
from lth_helpers.data import MNISTData  # noqa: E402
from lth_helpers.history import History, unpack_bits  # noqa: E402
from lth_helpers.models import LAYER_NAMES, LeNet300100  # noqa: E402
from lth_helpers.pixels import pixel_survival, pixel_survival_stats  # noqa: E402
from lth_helpers.plots import basics as pb  # noqa: E402
from lth_helpers.plots.explorer import plot_explorer  # noqa: E402
from lth_helpers.plots import retraining as pr  # noqa: E402
from lth_helpers.pruning import (expected_density, global_magnitude_masks, layerwise_magnitude_masks,  # noqa: E402
                                 one_shot_rates)
from lth_helpers.retraining import DenseRun, retraining_experiment  # noqa: E402
from lth_helpers.tables import sweep_table  # noqa: E402
from lth_helpers.training import TrainConfig, evaluate  # noqa: E402


def _synthetic_data(n_train: int = 240, n_val: int = 60, n_test: int = 80, seed: int = 0) -> MNISTData:
    """Random 'images' whose label is decided by a fixed linear map, so a network can learn it."""
    gen = torch.Generator().manual_seed(seed)
    projection = torch.randn(784, 10, generator=gen)

    def split(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.randn(n, 784, generator=gen)
        return x, (x @ projection).argmax(1)

    (tx, ty), (vx, vy), (sx, sy) = split(n_train), split(n_val), split(n_test)
    return MNISTData("synthetic", "synthetic", tx, ty, vx, vy, sx, sy)


@pytest.fixture(scope="module")
def data() -> MNISTData:
    return _synthetic_data()


@pytest.fixture(scope="module")
def model() -> LeNet300100:
    model = LeNet300100(seed=3)
    with torch.no_grad():  # non-zero biases, so that they are exercised too
        for _, layer in model.layers():
            layer.bias.normal_(0, 0.1, generator=torch.Generator().manual_seed(1))
    return model


@pytest.fixture(scope="module")
def net(model: LeNet300100) -> sweeps.TrainedNet:
    return sweeps.TrainedNet.from_model(model)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ------------------------------------------------------------------------------- masks


@pytest.mark.parametrize("method", sweeps.METHODS)
@pytest.mark.parametrize("rate", [0.0, 0.2, 0.5, 0.8, 0.964, 0.99])
def test_fast_masks_equal_reference_masks(net: sweeps.TrainedNet, method: str, rate: float) -> None:
    fast, thresholds = sweeps.prune_net(net, rate, method)
    reference = sweeps.prune(net.weights, rate, method)
    for name in LAYER_NAMES:
        assert fast[name].dtype == torch.bool
        assert torch.equal(fast[name], reference[name]), name
        pruned = net.weights[name].abs()[~fast[name]]
        kept = net.weights[name].abs()[fast[name]]
        if pruned.numel():
            # Every pruned weight is no larger than the threshold, every kept one no smaller.
            assert float(pruned.max()) <= thresholds[name] + 1e-12
            if method != "global":
                assert float(pruned.max()) == pytest.approx(thresholds[name])
            assert float(kept.min()) >= float(pruned.max())
        else:
            assert thresholds[name] == 0.0


def test_prune_matches_pruning_module(net: sweeps.TrainedNet) -> None:
    masks = sweeps.prune(net.weights, 0.7, "global")
    assert all(torch.equal(masks[n], global_magnitude_masks(net.weights, 0.7)[n]) for n in LAYER_NAMES)
    masks = sweeps.prune(net.weights, 0.7, "uniform")
    assert all(torch.equal(masks[n], layerwise_magnitude_masks(net.weights, 0.7)[n]) for n in LAYER_NAMES)


def test_masks_match_torch_prune(net: sweeps.TrainedNet) -> None:
    rate = 0.8
    ours, _ = sweeps.prune_net(net, rate, "uniform")
    layers = {}
    for name, w in net.weights.items():
        layer = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            layer.weight.copy_(w)
        layers[name] = layer
        torch_prune.l1_unstructured(layer, "weight", amount=rate)
        assert torch.equal(layer.weight_mask.bool(), ours[name]), name
    fresh = {n: nn.Linear(w.shape[1], w.shape[0]) for n, w in net.weights.items()}
    with torch.no_grad():
        for n, layer in fresh.items():
            layer.weight.copy_(net.weights[n])
    torch_prune.global_unstructured([(layer, "weight") for layer in fresh.values()],
                                    pruning_method=torch_prune.L1Unstructured, amount=rate)
    ours_global, _ = sweeps.prune_net(net, rate, "global")
    for name, layer in fresh.items():
        assert torch.equal(layer.weight_mask.bool(), ours_global[name]), name


@pytest.mark.parametrize("rounds", [0, 1, 3, 7, 15])
def test_layerwise_rates_follow_the_paper(rounds: int) -> None:
    density = expected_density(rounds)
    assert sweeps.paper_rounds_for_density(density) == pytest.approx(rounds, abs=1e-6)
    rates = sweeps.layer_rates(1.0 - density, "layerwise")
    for name, rate in one_shot_rates(rounds).items():
        assert rates[name] == pytest.approx(rate, abs=1e-9)


def test_layerwise_density_hits_target(net: sweeps.TrainedNet) -> None:
    for rate in (0.3, 0.789, 0.97):
        for method in sweeps.METHODS:
            masks, _ = sweeps.prune_net(net, rate, method)
            kept = sum(int(m.sum()) for m in masks.values()) / sum(m.numel() for m in masks.values())
            assert kept == pytest.approx(1.0 - rate, abs=2e-4)
    masks, _ = sweeps.prune_net(net, 0.9, "layerwise")
    # The output layer keeps more than the hidden layers: it is pruned at half the rate per round.
    assert masks["fc3"].float().mean() > masks["fc2"].float().mean() > 0


def test_global_prunes_first_layer_hardest(net: sweeps.TrainedNet) -> None:
    # At Glorot initialization fc1's weights are the smallest (std 0.043 vs 0.071 and 0.135).
    masks, thresholds = sweeps.prune_net(net, 0.8, "global")
    density = {n: float(m.float().mean()) for n, m in masks.items()}
    assert density["fc1"] < 0.2 < density["fc2"] < density["fc3"]
    assert len(set(thresholds.values())) == 1


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan"), "a lot"])
def test_bad_rates_are_rejected(net: sweeps.TrainedNet, data: MNISTData, bad) -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        sweeps.prune_and_evaluate(net, data, bad)


def test_bad_method_is_rejected(net: sweeps.TrainedNet, data: MNISTData) -> None:
    with pytest.raises(ValueError, match="layerwise"):
        sweeps.prune_and_evaluate(net, data, 0.5, "random")
    with pytest.raises(ValueError, match="global"):
        sweeps.layer_rates(0.5, "global")
    with pytest.raises(ValueError, match="missing"):
        sweeps.TrainedNet({"fc1": torch.zeros(300, 784)}, {})


# ------------------------------------------------------------------------- evaluation


def _within_examples(n: int, examples: int = 2) -> float:
    """Accuracy tolerance of a couple of examples: two forward paths may round a near-tie differently."""
    return examples / n


def test_prune_and_evaluate_agrees_with_the_model(model: LeNet300100, net: sweeps.TrainedNet, data: MNISTData) -> None:
    for method in sweeps.METHODS:
        result = sweeps.prune_and_evaluate(net, data, 0.85, method)
        # The same masks on a real LeNet300100, evaluated by the training module, agree.
        pruned = LeNet300100()
        pruned.load_state_dict(model.state_dict())
        pruned.set_masks(result.masks)
        val_loss, val_acc = evaluate(pruned, data.val_x, data.val_y)
        test_loss, test_acc = evaluate(pruned, data.test_x, data.test_y)
        assert result.val_acc == pytest.approx(val_acc, abs=_within_examples(len(data.val_y)))
        assert result.test_acc == pytest.approx(test_acc, abs=_within_examples(len(data.test_y)))
        assert result.val_loss == pytest.approx(val_loss, rel=1e-4)
        assert result.test_loss == pytest.approx(test_loss, rel=1e-4)
        assert result.density == pytest.approx(pruned.density())
        assert result.density == pytest.approx(0.15, abs=2e-4)
        assert set(result.record()) >= {"method", "density", "layer_density", "test_acc", "val_acc"}


def test_unpruned_net_evaluates_like_the_model(model: LeNet300100, net: sweeps.TrainedNet, data: MNISTData) -> None:
    result = sweeps.prune_and_evaluate(net, data, 0.0)
    assert result.density == 1.0
    dense_loss, dense_acc = evaluate(model, data.test_x, data.test_y)
    assert result.test_acc == pytest.approx(dense_acc, abs=_within_examples(len(data.test_y)))
    assert result.test_loss == pytest.approx(dense_loss, rel=1e-4)


def test_sweep_records(net: sweeps.TrainedNet, data: MNISTData) -> None:
    densities = [1.0, 0.5, 0.1]
    records = sweeps.sweep(net, data, densities, methods=("layerwise", "global"))
    assert [r["method"] for r in records] == ["layerwise"] * 3 + ["global"] * 3
    assert [round(r["density"], 3) for r in records] == [1.0, 0.5, 0.1] * 2
    assert records[0]["test_acc"] == records[3]["test_acc"]  # nothing pruned: the same network
    table = sweep_table(records, [1.0, 0.1]).splitlines()
    assert len(table) == 2 + 2 and "layer-wise (paper's rates)" in table[0] and "global magnitude" in table[0]
    assert table[-1].split()[0] == "10.0" and f"{100 * records[2]['test_acc']:.1f}%" in table[-1]
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        sweeps.sweep(net, data, [0.0])
    assert len(sweeps.default_densities(20)) == 21
    assert sweeps.default_densities(20)[7] == pytest.approx(0.211, abs=1e-3)


# ------------------------------------------------------------------------------ pixels


def test_pixel_survival_and_stats() -> None:
    mask = torch.zeros(300, 784, dtype=torch.bool)
    centre = torch.zeros(28, 28, dtype=torch.bool)
    centre[7:21, 7:21] = True
    mask[:, centre.flatten()] = True
    counts = pixel_survival(mask)
    assert counts.shape == (28, 28)
    assert int(counts[14, 14]) == 300 and int(counts[0, 0]) == 0
    std = centre.flatten().double()  # the centre varies, the border is blank
    stats = pixel_survival_stats(mask, std)
    assert stats["blank_pixels"] == 784 - 196
    assert stats["blank_ratio"] == 0.0
    assert stats["ink_ratio"] == pytest.approx(784 / 196)
    assert stats["correlation"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="300, 784"):
        pixel_survival(torch.ones(100, 300))


# --------------------------------------------------------------------------- retraining


def test_retraining_experiment(net: sweeps.TrainedNet, data: MNISTData) -> None:
    theta0 = LeNet300100(seed=11).weights()
    densities = [0.5, 0.1]
    result = retraining_experiment(net, theta0, data, densities, iterations=6, finetune_iterations=4,
                                          eval_every=2, reinit_draws=2, seed=0, progress=False)
    assert len(result.records) == len(densities) * (1 + 1 + 2)
    for d in densities:
        fine = result.select("fine_tune", d)[0]
        assert fine["iterations"] == 4 and result.select("ticket", d)[0]["iterations"] == 6
        assert len(result.select("reinit", d)) == 2
        # Fine-tuning starts from the pruned network itself (evaluated here by the population's
        # stacked forward pass, there by lenet_logits: equal up to a near-tie or two).
        pruned = sweeps.prune_and_evaluate(net, data, 1 - d)
        assert fine["start_test_acc"] == pytest.approx(pruned.test_acc, abs=_within_examples(len(data.test_y)))
        assert result.histories[("ticket", d, 0)].iterations == [2, 4, 6]
        # Every network says which test digits it gets right, before training and at early stopping.
        for r in result.select(density=d):
            assert r["test_correct"] == result.histories[(r["variant"], d, r["draw"])].test_correct_at_early_stop
            assert unpack_bits(r["start_test_correct"]).mean() == pytest.approx(r["start_test_acc"])
            assert r["late_minimum"] == (r["early_stop_iteration"] > 0.9 * r["iterations"])
    table = result.table()
    assert "fine-tuned" in table and "10.0" in table
    assert "%" not in result.table("early_stop_iteration").splitlines()[2].split("|", 2)[2]
    with pytest.raises(ValueError, match="start_test_acc"):
        result.table("accuracy")
    assert 0.0 <= result.mean("reinit", 0.1) <= 1.0
    with pytest.raises(ValueError, match="reinit_draws"):
        retraining_experiment(net, theta0, data, densities, 5, 5, reinit_draws=0, progress=False)


def test_pruning_basics_table_uses_this_run(model: LeNet300100, data: MNISTData) -> None:
    history = History()
    history.append(50, 0.5, (0.3, 0.9), (0.3, 0.912))
    history.append(100, 0.4, (0.4, 0.9), (0.4, 0.91))
    history.set_test_at_early_stop(0.3, [True] * 73 + [False] * 7)       # 73 of the 80 test digits
    dense = DenseRun(seed=0, theta0=LeNet300100(seed=2).weights(), history=history,
                     state={k: v.detach().clone() for k, v in model.state_dict().items()},
                     config=TrainConfig(iterations=100, eval_every=50))
    result = retraining_experiment(dense.net, dense.theta0, data, [0.2], iterations=2,
                                   finetune_iterations=2, eval_every=1, progress=False)
    table = pruning_basics_table(dense, result, data)
    lines = table.splitlines()
    assert lines[0] == "| paper | this run | verdict |" and len(lines) == 2 + 8   # 20% is in both Fig. 4c ranges
    assert all(line.count("|") == 4 for line in lines)
    assert "91.2% [" in table and "iteration 50 of 100; 240 training digits" in table
    fresh = compare_retrained(result, "reinit", "fine_tune", 0.2)
    assert f"fresh init minus fine-tuned: 20.0%: {fresh.text()}" in table


def test_retraining_members_start_from_the_pruned_networks(net: sweeps.TrainedNet, data: MNISTData,
                                                           monkeypatch) -> None:
    from lth_helpers import retraining

    started: list[list[dict]] = []

    class Spy(retraining.LeNetPopulation):
        def __init__(self, states, *args, **kwargs):
            started.append([{k: v.clone() for k, v in s.items()} for s in states])
            super().__init__(states, *args, **kwargs)

    monkeypatch.setattr(retraining, "LeNetPopulation", Spy)
    theta0 = LeNet300100(seed=4).weights()
    retraining_experiment(net, theta0, data, [0.1], iterations=1, finetune_iterations=1, eval_every=1,
                          reinit_draws=1, progress=False)
    masks, _ = sweeps.prune_net(net, 0.9, "layerwise")
    (fine,), (ticket, reinit) = started  # fine-tuned members first, then ticket and reinit per density
    for name in LAYER_NAMES:
        kept = masks[name]
        assert torch.equal(fine[f"{name}.mask"].bool(), kept) and torch.equal(ticket[f"{name}.mask"].bool(), kept)
        # Fine-tuning keeps the trained survivors and biases; the ticket restarts from theta_0, biases zero.
        assert torch.equal(fine[f"{name}.weight"], net.weights[name] * kept)
        assert torch.equal(fine[f"{name}.bias"], net.biases[name])
        assert torch.equal(ticket[f"{name}.weight"], theta0[name] * kept)
        assert not ticket[f"{name}.bias"].any()
        # The reinitialized member has the same mask and fresh values: zero exactly where pruned.
        assert not reinit[f"{name}.weight"][~kept].any()
        assert not torch.equal(reinit[f"{name}.weight"][kept], ticket[f"{name}.weight"][kept])


# ------------------------------------------------------------------------------- plots


def test_plots_return_figures(net: sweeps.TrainedNet, data: MNISTData) -> None:
    history = History()
    for i in range(1, 6):
        history.append(10 * i, 1.0 / i, (0.5 / i + (i == 5), 0.8 + 0.02 * i), (0.5 / i, 0.79 + 0.02 * i))
    assert isinstance(pb.plot_dense_training(history), Figure)
    records = sweeps.sweep(net, data, [1.0, 0.5, 0.2, 0.05], methods=sweeps.METHODS)
    fig = pb.plot_accuracy_vs_density(records, dense_acc=0.9)
    assert fig.axes[0].xaxis_inverted() and fig.axes[0].get_xscale() == "log"
    assert len(fig.axes[0].get_lines()) == 3 + 2  # three methods, dense and chance
    assert isinstance(pb.plot_layer_densities(records), Figure)
    result = sweeps.prune_and_evaluate(net, data, 0.8)
    fig = pb.plot_weight_histograms(net.weights, {"layer-wise": result.thresholds}, init_weights=net.weights)
    assert len(fig.axes) == 3
    fig = pb.plot_pixel_survival({"layer-wise": result.masks["fc1"]}, data.train_x.std(0))
    assert len([ax for ax in fig.axes if ax.images]) == 2
    fig = pb.plot_unit_masks(net.weights["fc1"], result.masks["fc1"], units=range(12), ncols=6)
    assert len([ax for ax in fig.axes if ax.images]) == 12
    fig = plot_explorer(result, net.weights, records, dense_acc=0.9)
    assert len(fig.axes) >= 6


def test_plot_input_errors(net: sweeps.TrainedNet, data: MNISTData) -> None:
    with pytest.raises(ValueError, match="no records"):
        pb.plot_accuracy_vs_density([])
    records = sweeps.sweep(net, data, [1.0, 0.5], methods=("global",))
    with pytest.raises(ValueError, match="layerwise"):
        pb.plot_accuracy_vs_density(records, methods=("layerwise",))
    with pytest.raises(ValueError, match="unit indices"):
        pb.plot_unit_masks(net.weights["fc1"], torch.ones(300, 784, dtype=torch.bool), units=[300])
    with pytest.raises(ValueError, match="fc1"):
        pb.plot_pixel_survival({"x": torch.ones(10, 10, dtype=torch.bool)})


def test_retraining_plots(net: sweeps.TrainedNet, data: MNISTData) -> None:
    theta0 = LeNet300100(seed=11).weights()
    result = retraining_experiment(net, theta0, data, [0.5, 0.2], iterations=4, finetune_iterations=2,
                                          eval_every=2, progress=False)
    records = sweeps.sweep(net, data, [1.0, 0.5, 0.2], methods=("layerwise",))
    fig = pr.plot_retraining(result, records, dense_acc=0.9)
    assert isinstance(fig, Figure)
    fig = pr.plot_retraining_curves(result, [0.2])
    assert len(fig.axes) == 1 and len(fig.axes[0].get_lines()) == 3
    with pytest.raises(ValueError, match="not trained"):
        pr.plot_retraining_curves(result, [0.3])
    with pytest.raises(ValueError, match="metric"):
        pr.plot_retraining(result, metric="early_stop_iteration")


# ------------------------------------------------------------------------------ widget


def test_explorer_text_format(net: sweeps.TrainedNet, data: MNISTData) -> None:
    from lth_helpers.widgets.pruning import explorer_text

    result = sweeps.prune_and_evaluate(net, data, 0.8, "global")
    text = explorer_text(result)
    match = re.search(r"test accuracy: (\d+\.\d\d)% at (\d+\.\d)% weights remaining", text)
    assert match, text
    assert float(match.group(1)) == pytest.approx(100 * result.test_acc, abs=0.005)
    assert float(match.group(2)) == pytest.approx(20.0, abs=0.05)


def test_prune_rate_explorer_redraws(model: LeNet300100, data: MNISTData) -> None:
    import ipywidgets as widgets

    from lth_helpers.widgets.pruning import prune_rate_explorer

    net = sweeps.TrainedNet.from_model(model)
    curve = sweeps.sweep(net, data, [1.0, 0.5, 0.2, 0.05], methods=("layerwise", "global"))
    box = prune_rate_explorer(model, data, prune_rate=0.5, curve=curve)
    assert isinstance(box, widgets.Widget) and "lth-prune-explorer" in box._dom_classes
    slider, dropdown = box.children[0].children
    text, output = box.children[1], box.children[2]
    assert slider.description == "prune rate" and "lth-prune-rate" in slider._dom_classes
    assert "lth-prune-method" in dropdown._dom_classes
    assert "50.0% weights remaining" in text.value
    png_before = output.outputs[0]["data"]["image/png"]
    assert base64.b64decode(png_before)[:8] == b"\x89PNG\r\n\x1a\n"
    slider.value = 0.9
    assert "10.0% weights remaining" in text.value
    png_after = output.outputs[0]["data"]["image/png"]
    assert png_after != png_before
    assert len(output.outputs) == 1
    dropdown.value = "uniform"  # not in the curve given: computed on first use
    assert "same rate everywhere" in text.value
    assert output.outputs[0]["data"]["image/png"] != png_after
    with pytest.raises(ValueError, match="prune_rate"):
        prune_rate_explorer(model, data, prune_rate=0.995)
    with pytest.raises(ValueError, match="unknown pruning method"):
        prune_rate_explorer(model, data, method="magnitude")
