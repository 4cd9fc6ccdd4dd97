import pytest
import torch

from rnnmusic.config import ModelConfig
from rnnmusic.errors import UserError
from rnnmusic.model import MusicRNN, detach_state, state_from_tensors, state_tensors


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_shapes_and_state_round_trip(cell):
    cfg = ModelConfig(vocab_size=50, cell=cell, layers=2, hidden=32, embed=16, dropout=0.1)
    model = MusicRNN(cfg)
    x = torch.randint(0, 50, (3, 7))
    out, state = model(x)
    assert out.shape == (3, 7, 50)
    layers_state = state[0] if isinstance(state, tuple) else state
    assert layers_state.shape == (2, 3, 32)
    assert isinstance(state, tuple) == (cell == "lstm")
    loss = model.loss(out, torch.randint(0, 50, (3, 7)))
    assert loss.ndim == 0 and loss.item() > 0
    back = state_from_tensors(state_tensors(detach_state(state)))
    out2, _ = model.eval()(x[:, :1], back)
    assert out2.shape == (3, 1, 50)


def test_carried_state_equals_one_long_pass():
    """Truncated BPTT relies on this: feeding a sequence in chunks with the state carried gives the same outputs."""
    torch.manual_seed(0)
    model = MusicRNN(ModelConfig(vocab_size=20, hidden=24, embed=8, layers=2, dropout=0.0)).eval()
    x = torch.randint(0, 20, (2, 12))
    whole, _ = model(x)
    a, s = model(x[:, :5])
    b, _ = model(x[:, 5:], s)
    assert torch.allclose(torch.cat([a, b], 1), whole, atol=1e-6)


def test_parameter_count_grows_with_hidden():
    small = MusicRNN(ModelConfig(vocab_size=30, hidden=16, embed=8)).num_parameters()
    big = MusicRNN(ModelConfig(vocab_size=30, hidden=32, embed=8)).num_parameters()
    assert big > 2 * small


@pytest.mark.parametrize("bad", [dict(cell="transformer"), dict(layers=0), dict(dropout=1.5)])
def test_bad_config_is_user_error(bad):
    with pytest.raises(UserError):
        MusicRNN(ModelConfig(vocab_size=10, **bad))
