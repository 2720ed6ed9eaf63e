"""Bad input fails at once with an error that names the value and what would have been valid."""

from __future__ import annotations

import re

import pytest
import torch

from lth_helpers.data import MNISTNotFoundError, load_mnist, write_idx
from lth_helpers.imp import make_config, member_start
from lth_helpers.models import LeNet300100, MaskedLinear, glorot_std
from lth_helpers.pruning import (
    check_rate,
    global_magnitude_masks,
    layerwise_magnitude_masks,
    magnitude_mask,
    one_shot_rates,
    round_for_density,
)
from lth_helpers.sizes import get_size

from conftest import write_fake_mnist

BAD_RATES = [(1.0, "1.0"), (1.5, "1.5"), (-0.1, "-0.1"), (float("nan"), "nan"), ("lots", "'lots'")]


def _weights() -> dict[str, torch.Tensor]:
    return LeNet300100(seed=0).weights()


# ----------------------------------------------------------------------------- prune rates


@pytest.mark.parametrize("rate,shown", BAD_RATES)
def test_magnitude_mask_rejects_rate(rate, shown):
    with pytest.raises(ValueError, match=rf"prune rate for fc2 must be .*\[0, 1\).*got {shown}"):
        magnitude_mask(torch.randn(4, 4), rate, layer="fc2")


@pytest.mark.parametrize("rate,shown", BAD_RATES)
def test_layerwise_rejects_rate(rate, shown):
    rates = {"fc1": 0.2, "fc2": 0.2, "fc3": rate}
    with pytest.raises(ValueError, match=rf"prune rate for fc3 must be .*got {shown}"):
        layerwise_magnitude_masks(_weights(), rates)
    with pytest.raises(ValueError, match=rf"got {shown}"):
        layerwise_magnitude_masks(_weights(), rate)


def test_layerwise_names_a_layer_without_rate():
    with pytest.raises(ValueError, match=r"no prune rate given for layer\(s\) \['fc3'\]"):
        layerwise_magnitude_masks(_weights(), {"fc1": 0.2, "fc2": 0.2})


@pytest.mark.parametrize("rate,shown", BAD_RATES)
def test_global_rejects_rate(rate, shown):
    with pytest.raises(ValueError, match=rf"global prune rate must be .*got {shown}"):
        global_magnitude_masks(_weights(), rate)


@pytest.mark.parametrize("field", ["hidden_rate", "output_rate"])
@pytest.mark.parametrize("rate", [1.0, -0.2, 2])
def test_make_config_rejects_rate(field, rate):
    with pytest.raises(ValueError, match=rf"{field} must be in \[0, 1\).*got {rate!r}"):
        make_config("quick", **{field: rate})


def test_valid_edge_rates_are_accepted():
    assert check_rate(0) == 0.0 and check_rate(0.999) == 0.999
    assert make_config("quick", hidden_rate=0.0).hidden_rate == 0.0


def test_other_schedule_values():
    with pytest.raises(ValueError, match=r"target density must be in \(0, 1\], got 0"):
        round_for_density(0)
    with pytest.raises(ValueError, match=r"rounds must be a number >= 0 \(IMP rounds\), got -2"):
        one_shot_rates(-2)
    with pytest.raises(ValueError, match="fan_in \\+ fan_out must be positive, got 0 \\+ 0"):
        glorot_std(0, 0)


# ---------------------------------------------------------------------------- mask shapes


def test_set_mask_rejects_wrong_shape():
    layer = MaskedLinear(784, 300)
    with pytest.raises(ValueError, match=r"mask of shape \(784, 300\) does not match weight of shape \(300, 784\)"):
        layer.set_mask(torch.ones(784, 300))
    with pytest.raises(TypeError, match="mask must be a torch.Tensor of 0/1 or bool values, got list"):
        layer.set_mask([[1.0]])
    assert layer.density == 1.0  # the failed calls changed nothing


def test_set_masks_rejects_unknown_layer_and_wrong_shape():
    model = LeNet300100(seed=0)
    with pytest.raises(ValueError, match=r"unknown layer\(s\) \['fc4'\]"):
        model.set_masks({"fc4": torch.ones(10, 10)})
    with pytest.raises(ValueError, match=r"mask for fc3 of shape \(100, 10\) does not match weight of shape \(10, 100\)"):
        model.set_masks({"fc3": torch.ones(100, 10)})


def test_magnitude_mask_rejects_wrong_mask_shape():
    with pytest.raises(ValueError, match=r"mask for fc2 has shape \(300, 100\), but its weight has shape \(100, 300\)"):
        magnitude_mask(torch.randn(100, 300), 0.2, torch.ones(300, 100, dtype=torch.bool), layer="fc2")
    with pytest.raises(ValueError, match=r"mask for fc1 has shape \(3,\)"):
        layerwise_magnitude_masks(_weights(), 0.2, {"fc1": torch.ones(3, dtype=torch.bool)})


def test_load_weights_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"weights for fc2 have shape \(300, 100\), expected \(100, 300\)"):
        LeNet300100().load_weights({"fc2": torch.zeros(300, 100)})


# ------------------------------------------------------------------- names and counts


@pytest.mark.parametrize("strategies,bad", [("original,reinitialize", "reinitialize"), (["magnitude"], "magnitude")])
def test_unknown_strategy(strategies, bad):
    with pytest.raises(ValueError, match=rf"unknown strategy '{bad}': expected one of original, reinit, "
                                         "fan_corrected, ticket_scale, random_mask, shuffled"):
        make_config("quick", strategies)


def test_member_start_rejects_unknown_strategy():
    with pytest.raises(ValueError, match="unknown strategy 'lottery'"):
        member_start("lottery", 0, 1, {}, {})


@pytest.mark.parametrize("size", ["tiny", "Standard", None])
def test_unknown_size(size):
    with pytest.raises(ValueError, match=rf"unknown size {size!r}: expected one of 'quick', 'standard', 'paper'"):
        get_size(size)
    with pytest.raises(ValueError, match=rf"unknown size {size!r}"):
        make_config(size)


@pytest.mark.parametrize("seeds,pattern", [
    (0, "seeds must be a count in 1..1000 .*got 0"),
    (-3, "seeds must be a count in 1..1000 .*got -3"),
    (1001, "seeds must be a count in 1..1000 .*got 1001"),
    ([], "seeds must be a count >= 1 or a non-empty list of ints >= 0, got \\[\\]"),
    ([1, 1], r"seeds must not repeat, got \[1, 1\]"),
    (True, r"seeds must be a count >= 1 or a list of seeds \(ints >= 0\), got True"),
])
def test_bad_seeds(seeds, pattern):
    with pytest.raises(ValueError, match=pattern):
        make_config("quick", seeds=seeds)


@pytest.mark.parametrize("override,pattern", [
    (dict(iterations=0), "iterations must be a positive integer, got 0"),
    (dict(eval_every=-5), "eval_every must be a positive integer, got -5"),
    (dict(rounds=-1), "rounds must be an integer >= 0, got -1"),
    (dict(lr=0.0), "lr must be a positive finite number, got 0.0"),
])
def test_bad_schedule(override, pattern):
    with pytest.raises(ValueError, match=pattern):
        make_config("quick", **override)


# -------------------------------------------------------------------------- data folders


def test_garbage_idx_file_is_reported_with_the_directory(tmp_path, no_download):
    write_fake_mnist(tmp_path / "MNIST" / "raw")
    truncated = tmp_path / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz"
    truncated.write_bytes(truncated.read_bytes()[:50])  # an interrupted download
    with pytest.raises(MNISTNotFoundError, match=rf"data directory {re.escape(str(tmp_path))} holds no readable MNIST"):
        load_mnist("mnist", tmp_path)
    assert no_download == []  # neither re-downloaded nor silently replaced by other data


def test_non_idx_file_is_reported(tmp_path):
    write_fake_mnist(tmp_path, gz=False)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(MNISTNotFoundError, match=rf"{re.escape(str(tmp_path))}.*train-labels-idx1-ubyte is not an IDX file"):
        load_mnist("mnist", tmp_path, download=False)


def test_wrong_image_shape_is_reported(tmp_path):
    folder = tmp_path / "MNIST" / "raw"
    write_fake_mnist(folder, gz=False)
    write_idx(folder / "t10k-images-idx3-ubyte", torch.zeros(30, 14, 14, dtype=torch.uint8).numpy())
    with pytest.raises(MNISTNotFoundError, match=r"test images have shape \(30, 14, 14\)"):
        load_mnist("mnist", tmp_path, download=False)


def test_partial_mnist_names_the_missing_files(tmp_path):
    write_fake_mnist(tmp_path / "MNIST" / "raw")
    (tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MNISTNotFoundError, match=rf"{re.escape(str(tmp_path))} holds part of MNIST but not t10k-labels-idx1-ubyte"):
        load_mnist("mnist", tmp_path, download=False)


def test_missing_mnist_and_failed_download_name_the_offline_data(tmp_path, no_download):
    with pytest.raises(MNISTNotFoundError,
                       match=rf"full MNIST is not in {re.escape(str(tmp_path))} and could not be downloaded "
                             r"\(network unavailable \(test\)\).*data='offline'.*--data offline"):
        load_mnist("mnist", tmp_path)
    assert no_download == [tmp_path]  # tried once, and nothing else was loaded in its place
    with pytest.raises(MNISTNotFoundError,
                       match=rf"data directory {re.escape(str(tmp_path))} holds no MNIST .* download is off.*"
                             r"data='offline'.*--data offline"):
        load_mnist("mnist", tmp_path, download=False)
    assert no_download == [tmp_path]  # download=False: not tried


@pytest.mark.parametrize("data", ["MNIST", "mlxtend", "", "./data"])
def test_unknown_data_value_names_it_and_the_choices(tmp_path, no_download, data):
    # "./data" is how the old load_mnist(root) was called: it now says what it expects.
    with pytest.raises(ValueError, match=rf"unknown data {re.escape(repr(data))}: expected one of 'offline', 'mnist'"):
        load_mnist(data, tmp_path)
    assert no_download == [] and list(tmp_path.iterdir()) == []  # nothing tried, nothing written


def test_data_path_that_is_a_file(tmp_path):
    path = tmp_path / "data"
    path.write_text("not a folder")
    with pytest.raises(MNISTNotFoundError, match=rf"data directory {re.escape(str(path))} exists but is not a directory"):
        load_mnist("mnist", path)
    assert issubclass(MNISTNotFoundError, FileNotFoundError)  # the CLI reports it and exits 2
