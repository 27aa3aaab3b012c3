"""PyTorch networks behind the scikit-learn estimator API.

One training loop (:class:`_TorchEstimator`) serves every estimator here:

* :class:`TorchRegressor`, :class:`TorchClassifier`: the general estimators
  (``hidden_sizes=()`` gives a linear / logistic model);
* :class:`TorchLinearRegression`, :class:`TorchLogisticRegression`: linear models whose
  ``coef_`` / ``intercept_`` match the closed form / sklearn's solution;
* :class:`TorchMLPRegressor`, :class:`TorchMLPClassifier`: MLPs with sklearn-MLP-like
  defaults (Adam, mini-batches of 200, stop on a training-loss plateau).

Conventions
-----------
* ``X`` has shape ``(n_samples, n_features)``, ``y`` shape ``(n_samples,)``.
* Losses are the ones of :mod:`ermlab.losses` (``torch_loss``), averaged over samples.
* With ``standardize=True`` the network is trained on standardised inputs (and targets,
  for regression); everything reported (predictions, ``coef_``, ``intercept_``,
  ``predict_var``, ``history_`` losses) is mapped back to raw units, and the weight-decay
  penalty is defined on the raw-unit weights, so standardisation changes only the
  conditioning of the problem, never its minimiser.

Only numpy and scikit-learn are imported at module level; torch (and tqdm) are imported
when an estimator is fitted or used, so importing :mod:`ermlab.models` stays cheap.
"""

from __future__ import annotations

import inspect
import math
import numbers
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

try:
    from sklearn.utils.validation import validate_data
except ImportError:  # scikit-learn < 1.6 (pyproject allows >= 1.4)

    def validate_data(estimator: Any, X: Any, y: Any = "no_validation", **kwargs: Any) -> Any:
        return estimator._validate_data(X, y, **kwargs)


from ermlab import signals
from ermlab.losses import torch_loss

__all__ = [
    "TorchClassifier",
    "TorchLinearRegression",
    "TorchLogisticRegression",
    "TorchMLPClassifier",
    "TorchMLPRegressor",
    "TorchRegressor",
    "TrainingDivergedError",
]

_ACTIVATIONS = ("relu", "tanh", "sigmoid")
_OPTIMIZERS = ("sgd", "adam", "lbfgs")
_DTYPES = ("float64", "float32")
_VARIANCES = ("shared", "input")
_DEFAULT_LR = {"sgd": 0.1, "adam": 1e-3, "lbfgs": 1.0}
# L-BFGS stopping tolerances per dtype: (max |gradient|, change in loss / step). float64
# ones are tight enough to reach closed-form solutions to ~1e-8; float32 ones sit just
# above float32 round-off so L-BFGS can actually satisfy them.
_LBFGS_TOL = {"float64": (1e-10, 1e-14), "float32": (1e-6, 1e-9)}
_LBFGS_MAX_ITER = 20
_LBFGS_MAX_EVAL = 25  # torch's default, max_iter * 5 / 4
# A call of L-BFGS that ends on a non-finite loss is undone and retried from where it started
# with a fresh history and half the step length, at most this many times (see _fit_network).
_LBFGS_RESTARTS = 8
_PREDICT_CHUNK = 65_536  # rows per forward pass in predict
_SYNC_EVERY = 50  # epochs between host reads of the loss when no stopping rule needs it


class TrainingDivergedError(RuntimeError):
    """The training loss (or a parameter) became NaN or infinite during ``fit``."""


# ------------------------------------------------------------------ parameter checking
def _check_choice(name: str, value: Any, allowed: tuple[Any, ...]) -> Any:
    # `type(value) is type(a)` keeps True from matching 1 and "1" from matching 1.
    if not any(type(value) is type(a) and value == a for a in allowed):
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _check_sizes(name: str, value: Any, hint: str) -> tuple[int, ...]:
    """A tuple of layer widths: any non-string sequence of positive ints (Hydra hands lists
    over as omegaconf ``ListConfig``)."""
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or any(isinstance(h, bool) or not isinstance(h, numbers.Integral) or h < 1 for h in value)
    ):
        raise ValueError(f"{name} must be a tuple of positive ints ({hint}); got {value!r}")
    return tuple(int(h) for h in value)


def _check_real(
    name: str, value: Any, low: float, high: float = math.inf, *, open_low: bool = False
) -> float:
    """Check ``low <= value < high`` (``low < value`` when ``open_low``); high is open."""
    ok = (
        not isinstance(value, bool)
        and isinstance(value, numbers.Real)
        and math.isfinite(value)
        and (value > low if open_low else value >= low)
        and value < high
    )
    if not ok:
        interval = f"{'(' if open_low else '['}{low:g}, {high:g})"
        raise ValueError(f"{name} must be a finite real number in {interval}; got {value!r}")
    return float(value)


@dataclass(frozen=True)
class _Config:
    """Validated, resolved hyper-parameters of one ``fit`` call."""

    hidden_sizes: tuple[int, ...]
    activation: str
    loss: str
    learn_variance: bool
    variance: str
    variance_hidden_sizes: tuple[int, ...]
    optimizer: str
    lr: float
    momentum: float
    epochs: int
    batch_size: int | None
    early_stopping: bool
    validation_fraction: float
    patience: int
    tol: float | None
    standardize: bool
    random_state: int | None
    progress: bool
    dtype: str


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


# -------------------------------------------------------------------------- torch parts
def _resolve_device(device: Any, *, strict: bool = True) -> Any:
    """Map the ``device`` parameter to a ``torch.device``.

    ``strict=False`` (used at predict time) falls back to the CPU when the requested CUDA
    device is missing, so an estimator fitted on a GPU still predicts after unpickling on a
    CPU-only machine.
    """
    import torch

    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device must be 'auto' or a torch device such as 'cpu', 'cuda', 'cuda:0'; "
            f"got {device!r}"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        if strict:
            raise ValueError(f"device={device!r} but CUDA is not available; use 'auto' or 'cpu'")
        return torch.device("cpu")
    return dev


def _build_net(n_in: int, hidden: tuple[int, ...], activation: str, n_out: int, dtype: str) -> Any:
    """Uninitialised ``Sequential`` of Linear layers with ``activation`` between them."""
    import torch

    act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}[activation]
    sizes = [n_in, *hidden, n_out]
    layers: list[Any] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        # skip_init: torch's default init would draw from (and advance) the *global* RNG,
        # a hidden side effect on the caller; we initialise from our own generator instead.
        layers.append(torch.nn.utils.skip_init(torch.nn.Linear, a, b, dtype=getattr(torch, dtype)))
        if i < len(sizes) - 2:
            layers.append(act())
    return torch.nn.Sequential(*layers)


def _init_net(net: Any, generator: Any, activation: str, *, zero: bool) -> None:
    """Glorot-uniform init as in sklearn's MLP, or zeros (linear models, as sklearn)."""
    import torch

    # sklearn MLP: bound sqrt(6 / (fan_in + fan_out)), sqrt(2 / ...) for the logistic.
    factor = 2.0 if activation == "sigmoid" else 6.0
    with torch.no_grad():
        for layer in net:
            if not isinstance(layer, torch.nn.Linear):
                continue
            if zero:
                layer.weight.zero_()
                layer.bias.zero_()
                continue
            bound = math.sqrt(factor / (layer.in_features + layer.out_features))
            for p in (layer.weight, layer.bias):
                # Drawn in float64 on the CPU, then cast: the same random_state gives the
                # same initial network whatever the dtype or device.
                draw = torch.empty(p.shape, dtype=torch.float64).uniform_(
                    -bound, bound, generator=generator
                )
                p.copy_(draw)


# Why L-BFGS always works on standardised inputs: its first step has length lr in parameter
# space along the gradient, and on raw inputs (x ≈ 200) that gradient is dominated by the
# weights of x. One unit of such a weight moves an output, and a log σ²(x) head, by hundreds:
# exp(±300) overflows inside the line search, and whether it did depended on the last bits of
# the arithmetic (the CPU). In standardised coordinates the same first step moves every output
# by O(1). The change of coordinates is exact (an affine map folded into the first layer), so
# the model, its initial network and the minimiser are those of the raw problem.
def _raw_to_standardised_inputs(layer: Any, x_mean: np.ndarray, x_scale: np.ndarray) -> None:
    """Rewrite a first ``Linear`` layer (weights W (out, p), bias b (out,)) drawn for raw
    inputs x so that it computes the same function of z = (x − x_mean) / x_scale:
    W ← W·diag(x_scale), b ← b + W·x_mean."""
    import torch

    with torch.no_grad():
        weight = layer.weight
        mean = torch.as_tensor(x_mean, dtype=weight.dtype, device=weight.device)
        scale = torch.as_tensor(x_scale, dtype=weight.dtype, device=weight.device)
        layer.bias.add_(weight @ mean)
        weight.mul_(scale[None, :])


def _seed(seq: np.random.SeedSequence) -> int:
    return int(seq.generate_state(1, dtype=np.uint64)[0])


# --------------------------------------------------------------------------- docstrings
_PARAM_DOCS: dict[str, tuple[str, str]] = {
    "hidden_sizes": (
        "tuple of int",
        "Widths of the hidden layers. ``()`` gives a linear model (linear regression, or "
        "logistic / softmax regression for a classifier).",
    ),
    "activation": (
        '{"relu", "tanh", "sigmoid"}',
        "Nonlinearity after every hidden layer (unused without hidden layers).",
    ),
    "loss_regressor": (
        '{"mse", "gaussian_nll"}',
        '``"mse"``: mean squared error. ``"gaussian_nll"``: Gaussian negative '
        "log-likelihood with a noise variance σ² that is one shared value (homoscedastic) "
        "or a function σ²(x) of the input (heteroscedastic), see ``learn_variance`` and "
        "``variance``; its mean predictor is what ``predict`` returns.",
    ),
    "loss_classifier": (
        '{"cross_entropy"}',
        "Mean cross-entropy of the softmax (sigmoid for two classes) of the logits.",
    ),
    "learn_variance": (
        "bool",
        'Only for ``loss="gaussian_nll"``. True: log σ² is a trained parameter (see '
        "``predict_var``; with ``sgd`` the effective step grows as 1/σ², so prefer "
        "``adam`` or ``lbfgs``). False: σ² is fixed to 1 in the units the network is "
        "trained in (the training-target variance when ``standardize``), so minimising "
        "the NLL is exactly least squares (the MLE view of OLS).",
    ),
    "variance": (
        '{"shared", "input"}',
        'Only for ``loss="gaussian_nll"``. ``"shared"``: one σ² for every input '
        '(homoscedastic), so the fitted mean is the least-squares one. ``"input"`` (needs '
        "``learn_variance=True``): a separate network, the log-variance head, maps the "
        "(standardised) inputs to log σ²(x), and it is fitted jointly with the mean by "
        "maximum likelihood; for a fixed σ²(x) the mean is then the weighted least-squares "
        "fit with weights 1/σ²(x), so on heteroscedastic data it differs from least squares "
        "and weighs low-noise points more. ``predict_var`` returns σ²(x) per input. The head "
        "starts at the shared model's initial σ² everywhere; ``lbfgs`` fits it fastest. A "
        "flexible σ²(x) lets the "
        "likelihood grow without bound by shrinking σ² around a few points: on small samples "
        "keep the head small (``variance_hidden_sizes``), or use ``weight_decay`` or "
        "``early_stopping``.",
    ),
    "variance_hidden_sizes": (
        "tuple of int",
        'Hidden-layer widths of the log-variance head of ``variance="input"`` (ignored '
        "otherwise), with ``activation`` between layers (ReLU in the linear models); "
        "``()`` makes log σ²(x) linear in the standardised inputs. The mean network "
        "(``hidden_sizes``) is separate, so a linear model keeps a linear mean.",
    ),
    "C": (
        "float > 0",
        "Inverse L2 strength, as in ``sklearn.linear_model.LogisticRegression``: the "
        "objective is mean cross-entropy + ‖W‖² / (2 C n) with W the raw-unit coefficients "
        "and the intercept not penalised, i.e. sklearn's ½‖W‖² + C Σᵢ lossᵢ divided by "
        "C n, so both have the same minimiser.",
    ),
    "optimizer": (
        '{"sgd", "adam", "lbfgs"}',
        '``"sgd"``: (mini-batch) gradient descent with optional momentum. ``"adam"``: '
        'Adam. ``"lbfgs"``: full-batch L-BFGS with strong-Wolfe line search; one epoch is '
        f"one call of up to {_LBFGS_MAX_ITER} iterations, training stops once a call ends on "
        "L-BFGS's own convergence tests (gradient or change below tolerance), and "
        "``batch_size`` is ignored.",
    ),
    "lr": (
        "float > 0 or None",
        "Learning rate (L-BFGS: initial step length). None picks "
        + ", ".join(f"{v:g} for {k}" for k, v in _DEFAULT_LR.items())
        + ". With ``standardize`` it applies to the standardised problem.",
    ),
    "momentum": ("float in [0, 1)", "Momentum of ``sgd``; ignored by other optimizers."),
    "epochs": ("int >= 1", "Maximum number of passes over the training data."),
    "batch_size": (
        "int >= 1 or None",
        "Mini-batch size; None (or >= the training size) is full-batch gradient descent. "
        "Mini-batches are slices of a new random permutation every epoch; the last may be "
        "smaller.",
    ),
    "weight_decay": (
        "float >= 0",
        "L2 strength λ: the objective is mean loss + (λ/2) Σ ‖W‖² over weight matrices, "
        "those of the log-variance head included (biases and a shared σ² are not "
        "penalised). The weights are those of the equivalent "
        "network on raw inputs and targets, so with ``loss='mse'`` and no hidden layer "
        "this is ridge regression with sklearn ``alpha = λ n / 2``.",
    ),
    "early_stopping": (
        "bool",
        "Hold out ``validation_fraction`` of the samples (random split drawn from "
        "``random_state``), stop once the validation loss has not improved on its best "
        "value so far by more than ``tol`` (0 if None) for ``patience`` epochs, and restore "
        "the parameters of the epoch with the lowest validation loss (any improvement "
        "counts there, so the restored model's validation loss is "
        "``min(history_['val_loss'])``).",
    ),
    "validation_fraction": (
        "float in (0, 1)",
        "Fraction of samples held out when ``early_stopping``.",
    ),
    "patience": ("int >= 1", "Epochs without improvement tolerated before stopping."),
    "tol": (
        "float >= 0 or None",
        "Without early stopping: stop when ``history_['train_loss']`` (raw units) has not "
        "decreased by more than ``tol`` for ``patience`` consecutive epochs. None runs all "
        "``epochs`` (L-BFGS still stops at convergence).",
    ),
    "standardize": (
        "bool",
        "Centre and scale inputs (and regression targets) by the training mean and "
        "standard deviation inside the estimator, so gradient descent converges on raw "
        "data such as heights in cm. Predictions, ``coef_``, ``intercept_``, variances and "
        "``history_`` losses are reported in raw units. ``lbfgs`` always optimises in "
        "standardised input coordinates (an exact change of variables of the first layer: "
        "the same model and initial network), so False changes only the targets' units "
        "there.",
    ),
    "device": (
        "str",
        '``"auto"`` (CUDA when available, else CPU) or a torch device string such as '
        '``"cpu"``, ``"cuda"``, ``"cuda:1"``.',
    ),
    "random_state": (
        "int >= 0 or None",
        "Seeds a ``numpy.random.SeedSequence`` whose children seed the torch generators for "
        "initialisation and shuffling, and the validation split: equal values give "
        "identical histories and predictions on the same device and library versions. "
        "None draws fresh entropy.",
    ),
    "progress": (
        '{"auto", True, False}',
        'tqdm progress bar over epochs; ``"auto"`` shows it only when stderr is a terminal.',
    ),
    "dtype": (
        '{"float64", "float32"}',
        "Precision of parameters and arithmetic. float64 reaches closed-form solutions to "
        "~1e-8; float32 is faster, notably on GPUs.",
    ),
}

_FITTED_DOC = """
    history_ : dict of str to list
        Per-epoch records: ``"epoch"`` (1, 2, ...), ``"train_loss"`` (mean data loss over
        the epoch's mini-batches, each evaluated before its step; for L-BFGS the loss after
        the epoch's call) and ``"val_loss"`` (loss on the held-out split after the epoch;
        NaN without ``early_stopping``). Losses exclude the penalty and are in raw target
        units.
    n_iter_ : int
        Number of epochs run.
    n_features_in_ : int
        Number of input features seen in ``fit``."""


def _document(summary: str, *, loss_key: str = "", extra_attributes: str = "") -> Any:
    """Class decorator: numpydoc docstring built from ``__init__``'s real defaults.

    Keeps each parameter's text in one place (:data:`_PARAM_DOCS`) for six classes, and
    the documented defaults in sync with the signatures.
    """

    def decorate(cls: type) -> type:
        lines = [summary.strip("\n"), "", "    Parameters", "    ----------"]
        for name, param in inspect.signature(cls.__init__).parameters.items():
            if name == "self":
                continue
            key = loss_key if name == "loss" else name
            type_, text = _PARAM_DOCS[key]
            lines.append(f"    {name} : {type_}, default={param.default!r}")
            lines.append(textwrap.fill(text, 92, initial_indent=" " * 8, subsequent_indent=" " * 8))
        lines += ["", "    Attributes", "    ----------", _FITTED_DOC.strip("\n")]
        if extra_attributes:
            lines.append(extra_attributes.strip("\n"))
        cls.__doc__ = "\n".join(lines) + "\n"
        return cls

    return decorate


# ------------------------------------------------------------------------ shared engine
class _TorchEstimator(BaseEstimator):
    """Training loop, persistence and prediction plumbing shared by every estimator.

    Subclasses set ``_LOSSES`` and call :meth:`_fit_network` from ``fit``.
    """

    _LOSSES: tuple[str, ...] = ()
    _IS_REGRESSOR = False

    # ---------------------------------------------------------------- configuration
    def _l2_strength(self, n_train: int) -> float:
        """λ of the penalty (λ/2) Σ ‖W‖²; overridden where it derives from ``C``."""
        return _check_real("weight_decay", self.weight_decay, 0.0)

    def _check_params(self) -> None:
        """Check every hyperparameter that needs neither data nor the machine, as ``fit``
        first does (ermlab's models expose this, so a sweep refuses a bad value before its
        first job: see :func:`ermlab.models.build`). The penalty is checked for one training
        point; ``device`` is checked by ``fit``, on the machine that runs the job (a Ray node
        may have the GPU this one lacks)."""
        self._config()
        self._l2_strength(1)

    def _config(self) -> _Config:
        hidden = _check_sizes("hidden_sizes", self.hidden_sizes, "() for a linear model")
        loss = _check_choice("loss", self.loss, self._LOSSES)
        learn_variance = _check_bool("learn_variance", getattr(self, "learn_variance", False))
        # Classifiers have no variance parameters: the getattr defaults stand in for them.
        variance = _check_choice("variance", getattr(self, "variance", "shared"), _VARIANCES)
        variance_hidden = _check_sizes(
            "variance_hidden_sizes",
            getattr(self, "variance_hidden_sizes", ()),
            "() for a log-variance linear in the inputs",
        )
        if variance == "input" and (loss != "gaussian_nll" or not learn_variance):
            raise ValueError(
                "variance must be 'shared' unless loss='gaussian_nll' and learn_variance=True; "
                f"got variance='input' with loss={loss!r}, learn_variance={learn_variance!r}"
            )
        optimizer = _check_choice("optimizer", self.optimizer, _OPTIMIZERS)
        lr = (
            _DEFAULT_LR[optimizer]
            if self.lr is None
            else _check_real("lr", self.lr, 0, open_low=True)
        )
        batch_size = (
            None if self.batch_size is None else _check_int("batch_size", self.batch_size, 1)
        )
        tol = None if self.tol is None else _check_real("tol", self.tol, 0.0)
        rs = self.random_state
        if rs is not None:
            rs = _check_int("random_state", rs, 0)
        return _Config(
            hidden_sizes=hidden,
            activation=_check_choice("activation", self.activation, _ACTIVATIONS),
            loss=loss,
            learn_variance=learn_variance,
            variance=variance,
            variance_hidden_sizes=variance_hidden,
            optimizer=optimizer,
            lr=lr,
            momentum=_check_real("momentum", self.momentum, 0.0, 1.0),
            epochs=_check_int("epochs", self.epochs, 1),
            batch_size=batch_size,
            early_stopping=_check_bool("early_stopping", self.early_stopping),
            validation_fraction=_check_real(
                "validation_fraction", self.validation_fraction, 0.0, 1.0, open_low=True
            ),
            patience=_check_int("patience", self.patience, 1),
            tol=tol,
            standardize=_check_bool("standardize", self.standardize),
            random_state=rs,
            progress=(
                _stderr_is_tty()
                if _check_choice("progress", self.progress, ("auto", True, False)) == "auto"
                else bool(self.progress)
            ),
            dtype=_check_choice("dtype", self.dtype, _DTYPES),
        )

    # -------------------------------------------------------------------- training
    def _fit_network(self, X: np.ndarray, target: np.ndarray, n_out: int) -> None:
        """Fit the network on validated ``X`` (float64) and encoded ``target``.

        ``target`` holds raw float targets (regressor) or class indices (classifier);
        ``n_out`` is the width of the last layer (1 for regression and binary problems).
        """
        cfg = self._config()
        import torch

        device = _resolve_device(self.device)
        dt = getattr(torch, cfg.dtype)
        n = X.shape[0]
        init_seq, shuffle_seq, split_seq = np.random.SeedSequence(cfg.random_state).spawn(3)

        if cfg.early_stopping:
            n_val = max(1, round(cfg.validation_fraction * n))
            if n - n_val < 1:
                raise ValueError(
                    f"early_stopping needs at least 2 samples; got {n} "
                    f"with validation_fraction={cfg.validation_fraction}"
                )
            perm = np.random.default_rng(split_seq).permutation(n)
            # Sorting keeps the training rows in their original order, so the split is the
            # only thing random_state changes about the data.
            tr, va = np.sort(perm[n_val:]), np.sort(perm[:n_val])
            X_tr, t_tr, X_va, t_va = X[tr], target[tr], X[va], target[va]
        else:
            X_tr, t_tr, X_va, t_va = X, target, None, None
        n_tr = X_tr.shape[0]
        l2 = self._l2_strength(n_tr)

        # Standardisation statistics come from the training split only. L-BFGS always works on
        # standardised inputs (see _raw_to_standardised_inputs): the same model, a sane first step.
        standardize_inputs = cfg.standardize or cfg.optimizer == "lbfgs"
        if standardize_inputs:
            x_mean, x_scale = X_tr.mean(axis=0), X_tr.std(axis=0)
            x_scale[x_scale == 0] = 1.0  # constant column: centre only (StandardScaler)
        else:
            x_mean, x_scale = np.zeros(X.shape[1]), np.ones(X.shape[1])
        y_mean, y_scale = 0.0, 1.0
        if self._IS_REGRESSOR and cfg.standardize:
            y_mean, y_scale = float(t_tr.mean()), float(t_tr.std())
            y_scale = y_scale if y_scale > 0 else 1.0

        def to_tensors(Xa: np.ndarray, ta: np.ndarray) -> tuple[Any, Any]:
            xt = torch.as_tensor((Xa - x_mean) / x_scale, dtype=dt).to(device)
            if self._IS_REGRESSOR:
                tt = torch.as_tensor((ta - y_mean) / y_scale, dtype=dt)
            elif n_out == 1:  # binary: float 0/1 targets for BCE-with-logits
                tt = torch.as_tensor(ta, dtype=dt)
            else:
                tt = torch.as_tensor(ta, dtype=torch.long)
            return xt, tt.to(device)

        Xt, tt = to_tensors(X_tr, t_tr)
        Xv, tv = to_tensors(X_va, t_va) if X_va is not None else (None, None)

        gen_init = torch.Generator().manual_seed(_seed(init_seq))
        net = _build_net(X.shape[1], cfg.hidden_sizes, cfg.activation, n_out, cfg.dtype)
        _init_net(net, gen_init, cfg.activation, zero=not cfg.hidden_sizes)
        net.to(device)
        params = list(net.parameters())

        gaussian = cfg.loss == "gaussian_nll"
        log_var = var_net = None
        if gaussian and cfg.variance == "input":
            # log σ²(x) in training units from its own head on the same (standardised)
            # inputs. Its hidden layers are drawn after the mean network's, which is thus
            # initialised as with variance="shared"; its last layer starts at zero, so
            # training starts from the shared model's neutral log σ² = 0 everywhere.
            var_net = _build_net(
                X.shape[1], cfg.variance_hidden_sizes, cfg.activation, 1, cfg.dtype
            )
            _init_net(var_net, gen_init, cfg.activation, zero=False)
            with torch.no_grad():
                var_net[-1].weight.zero_()
                var_net[-1].bias.zero_()
            var_net.to(device)
            params.extend(var_net.parameters())
        if standardize_inputs and not cfg.standardize:
            for first_layer in [net[0]] + ([var_net[0]] if var_net is not None else []):
                _raw_to_standardised_inputs(first_layer, x_mean, x_scale)
        elif gaussian:
            # log σ² in training units; 0 means σ² = Var(y_train) in raw units (or 1 when
            # not standardising), a neutral start and the fixed value of learn_variance=False.
            log_var = torch.zeros(1, dtype=dt, device=device, requires_grad=cfg.learn_variance)
            if cfg.learn_variance:
                params.append(log_var)
        loss_fn = torch_loss(cfg.loss)

        def forward(xb: Any) -> Any:
            out = net(xb)
            if var_net is not None:
                out = torch.cat([out, var_net(xb)], dim=1)
            elif gaussian:
                out = torch.cat([out, log_var.expand(out.shape[0], 1)], dim=1)
            return out

        # Penalty on raw-unit weights: W_raw = W * y_scale / x_scale for the first / last
        # layers, and the raw mse is y_scale² times the standardised one, so dividing by
        # that factor keeps the standardised objective proportional to the raw one.
        linears = [m for m in net if isinstance(m, torch.nn.Linear)]
        pen_scales: list[Any] = []
        for i, layer in enumerate(linears):
            scale = np.ones((1, layer.in_features))
            if i == 0:
                scale = scale / x_scale[None, :]
            if i == len(linears) - 1 and self._IS_REGRESSOR:
                scale = scale * y_scale
            pen_scales.append(torch.as_tensor(scale**2, dtype=dt, device=device))
        if var_net is not None:
            # The head's raw-unit log σ²(x) is its output + log y_scale²: only its first
            # layer's weights change with the units, W_raw = W / x_scale.
            for i, layer in enumerate(m for m in var_net if isinstance(m, torch.nn.Linear)):
                scale = np.ones((1, layer.in_features))
                if i == 0:
                    scale = scale / x_scale[None, :]
                linears.append(layer)
                pen_scales.append(torch.as_tensor(scale**2, dtype=dt, device=device))
        loss_scale = y_scale**2 if cfg.loss == "mse" else 1.0
        pen_coef = 0.5 * l2 / loss_scale

        def objective(xb: Any, tb: Any) -> tuple[Any, Any]:
            data = loss_fn(forward(xb), tb)
            if pen_coef == 0.0:
                return data, data
            pen = sum(
                (m.weight.square() * s).sum() for m, s in zip(linears, pen_scales, strict=True)
            )
            return data, data + pen_coef * pen

        def to_raw(value: float) -> float:
            """Loss in raw target units from the standardised-units value."""
            if cfg.loss == "mse":
                return value * y_scale**2
            if gaussian:
                return value + math.log(y_scale)
            return value

        if cfg.optimizer == "sgd":
            opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum)
        elif cfg.optimizer == "adam":
            opt = torch.optim.Adam(params, lr=cfg.lr)
        else:
            tol_grad, tol_change = _LBFGS_TOL[cfg.dtype]

            def lbfgs(lr: float) -> Any:
                return torch.optim.LBFGS(
                    params,
                    lr=lr,
                    max_iter=_LBFGS_MAX_ITER,
                    max_eval=_LBFGS_MAX_EVAL,
                    tolerance_grad=tol_grad,
                    tolerance_change=tol_change,
                    history_size=50,
                    line_search_fn="strong_wolfe",
                )

            opt = lbfgs(cfg.lr)
        full_batch = cfg.optimizer == "lbfgs" or cfg.batch_size is None or cfg.batch_size >= n_tr
        gen_shuffle = None
        if not full_batch:
            gen_shuffle = torch.Generator(device=device).manual_seed(_seed(shuffle_seq))

        bar = None
        if cfg.progress:
            from tqdm import tqdm

            bar = tqdm(total=cfg.epochs, desc=type(self).__name__, unit="epoch", leave=False)

        def diverged(epoch: int, what: str, value: float) -> TrainingDivergedError:
            return TrainingDivergedError(
                f"{type(self).__name__} diverged at epoch {epoch}: {what} = {value}; "
                f"lower lr (now {cfg.lr:g})"
                + ("" if cfg.standardize else " or use standardize=True")
            )

        def closure() -> Any:
            opt.zero_grad()
            total = objective(Xt, tt)[1]
            total.backward()
            return total

        history: dict[str, list[Any]] = {"epoch": [], "train_loss": [], "val_loss": []}
        # Reading a loss on the host waits for the device; when nothing needs it every epoch
        # (stopping rules, progress bar; L-BFGS syncs anyway) the per-epoch losses stay on
        # the device and are read, and checked for divergence, in blocks of _SYNC_EVERY.
        per_epoch = cfg.early_stopping or cfg.tol is not None or bar is not None
        sync_every = 1 if per_epoch or cfg.optimizer == "lbfgs" else _SYNC_EVERY
        pending: list[Any] = []
        best, stall, best_state = math.inf, 0, None
        epoch = 0
        try:
            for epoch in range(1, cfg.epochs + 1):
                signals.check()  # a Ctrl-C or SIGTERM that Python dropped (see ermlab.signals)
                lbfgs_converged = False
                if cfg.optimizer == "lbfgs":
                    start = [p.detach().clone() for p in params]
                    lr = cfg.lr
                    for restart in range(_LBFGS_RESTARTS + 1):
                        lbfgs_state = opt.state[params[0]]
                        iters = lbfgs_state.get("n_iter", 0)
                        evals = lbfgs_state.get("func_evals", 0)
                        opt.step(closure)
                        # One epoch is many L-BFGS iterations: record where it ended, not
                        # the loss at its start as for the (single-step) gradient methods.
                        with torch.no_grad():
                            epoch_loss = loss_fn(forward(Xt), tt)
                        if bool(torch.isfinite(epoch_loss)) or restart == _LBFGS_RESTARTS:
                            break
                        # Torch's strong-Wolfe line search interpolates in the parameters'
                        # dtype: a trial loss of ~1e19 overflows its cubic step in float32,
                        # and a trial point where exp(-log σ²) overflows does so in float64.
                        # Either ends in NaN parameters although the problem is well posed;
                        # shorter first steps from the last finite point avoid the overflow.
                        with torch.no_grad():
                            for p, value in zip(params, start, strict=True):
                                p.copy_(value)
                        lr /= 2
                        opt = lbfgs(lr)
                    # A call that ends before its iteration / evaluation budget ended on one
                    # of L-BFGS's own convergence tests; further epochs would change nothing.
                    lbfgs_converged = (
                        lbfgs_state["n_iter"] - iters < _LBFGS_MAX_ITER
                        and lbfgs_state["func_evals"] - evals < _LBFGS_MAX_EVAL
                    )
                elif full_batch:
                    opt.zero_grad()
                    data, total = objective(Xt, tt)
                    total.backward()
                    opt.step()
                    epoch_loss = data.detach()
                else:
                    perm_t = torch.randperm(n_tr, generator=gen_shuffle, device=device)
                    acc = torch.zeros((), dtype=dt, device=device)
                    for start in range(0, n_tr, cfg.batch_size):
                        idx = perm_t[start : start + cfg.batch_size]
                        opt.zero_grad()
                        data, total = objective(Xt[idx], tt[idx])
                        total.backward()
                        opt.step()
                        # Accumulate on the device: no host sync inside the epoch.
                        acc.add_(data.detach(), alpha=idx.shape[0])
                    epoch_loss = acc / n_tr

                pending.append(epoch_loss)
                if len(pending) < sync_every and epoch < cfg.epochs:
                    continue
                # One device-to-host copy for all pending epochs.
                values = torch.stack(pending).tolist() if len(pending) > 1 else [float(epoch_loss)]
                for e, value in enumerate(values, start=epoch - len(pending) + 1):
                    train_loss = to_raw(value)
                    if not math.isfinite(train_loss):
                        raise diverged(e, "train loss", train_loss)
                    history["epoch"].append(e)
                    history["train_loss"].append(train_loss)
                pending.clear()
                val_loss = math.nan
                if Xv is not None:
                    with torch.no_grad():
                        val_loss = to_raw(float(loss_fn(forward(Xv), tv)))
                    if not math.isfinite(val_loss):
                        raise diverged(epoch, "validation loss", val_loss)
                history["val_loss"].extend(
                    [val_loss] * (len(history["epoch"]) - len(history["val_loss"]))
                )
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{train_loss:.4g}", refresh=False)

                # As scikit-learn's MLP: patience counts epochs that did not improve on the
                # best loss so far by more than tol, while the restored snapshot is that of
                # the best epoch itself (any strict improvement), so the restored model's
                # validation loss is min(history_["val_loss"]) whatever tol is.
                monitored = val_loss if cfg.early_stopping else train_loss
                if cfg.early_stopping or cfg.tol is not None:
                    if monitored < best - (cfg.tol or 0.0):
                        stall = 0
                    else:
                        stall += 1
                    if monitored < best:
                        best = monitored
                        if cfg.early_stopping:
                            best_state = [p.detach().clone() for p in params]
                    if stall >= cfg.patience:
                        break
                if lbfgs_converged:
                    break
        finally:
            if bar is not None:
                bar.close()

        with torch.no_grad():
            if best_state is not None:
                for p, b in zip(params, best_state, strict=True):
                    p.copy_(b)
            if not all(bool(torch.isfinite(p).all()) for p in params):
                raise diverged(epoch, "a parameter", math.nan)

        net.eval()
        # State kept as numpy arrays: picklable without torch specifics, device-agnostic.
        state = {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}
        if log_var is not None:
            state["log_var"] = log_var.detach().cpu().numpy().copy()
        self._state_ = state
        self._arch_ = (X.shape[1], cfg.hidden_sizes, cfg.activation, n_out, cfg.dtype)
        # The log-variance head (variance="input"): its widths and state, else None.
        self._var_head_ = None
        if var_net is not None:
            var_net.eval()
            self._var_head_ = (
                cfg.variance_hidden_sizes,
                {k: v.detach().cpu().numpy().copy() for k, v in var_net.state_dict().items()},
            )
        self._x_mean_, self._x_scale_ = x_mean, x_scale
        self._y_mean_, self._y_scale_ = y_mean, y_scale
        self._net_cache = (device, net, var_net)
        self.history_ = history
        self.n_iter_ = epoch
        if not cfg.hidden_sizes:
            self._set_linear_coefficients()

    def _set_linear_coefficients(self) -> None:
        """``coef_`` / ``intercept_`` of a linear model, mapped back to raw units."""
        W, b = (
            self._state_["0.weight"].astype(np.float64),
            self._state_["0.bias"].astype(np.float64),
        )
        # y = y_mean + y_scale * (W (x - x_mean) / x_scale + b)
        coef = W * (self._y_scale_ / self._x_scale_)[None, :]
        intercept = self._y_mean_ + self._y_scale_ * (b - W @ (self._x_mean_ / self._x_scale_))
        if self._IS_REGRESSOR:
            self.coef_, self.intercept_ = coef[0], float(intercept[0])
        else:
            self.coef_, self.intercept_ = coef, intercept

    # ------------------------------------------------------------------ prediction
    def _net(self) -> tuple[Any, Any, Any]:
        """The device, the fitted network and its log-variance head (None without one),
        rebuilt from ``_state_`` / ``_var_head_`` after unpickling."""
        import torch

        device = _resolve_device(self.device, strict=False)
        cache = getattr(self, "_net_cache", None)
        if cache is not None and cache[0] == device:
            return cache
        n_in, hidden, activation, n_out, dtype = self._arch_
        net = _build_net(n_in, hidden, activation, n_out, dtype)
        net.load_state_dict(
            {k: torch.from_numpy(v) for k, v in self._state_.items() if k != "log_var"}
        )
        net.to(device).eval()
        var_net = None
        var_head = getattr(self, "_var_head_", None)  # absent in pickles of older versions
        if var_head is not None:
            var_hidden, var_state = var_head
            var_net = _build_net(n_in, var_hidden, activation, 1, dtype)
            var_net.load_state_dict({k: torch.from_numpy(v) for k, v in var_state.items()})
            var_net.to(device).eval()
        self._net_cache = (device, net, var_net)
        return self._net_cache

    def _output(self, X: ArrayLike, *, head: str = "mean") -> Any:
        """Output (standardised units) of the network (``head="mean"``), shape (n_samples,
        n_out), or of the log-variance head (``head="log_var"``), shape (n_samples, 1), as a
        CPU tensor."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        import torch

        device, net, var_net = self._net()
        if head == "log_var":
            net, width = var_net, 1
        else:
            width = self._arch_[3]
        dt = getattr(torch, self._arch_[4])
        outputs = []
        with torch.no_grad():
            # Chunks bound the activations' memory on large inputs (e.g. population risks).
            for start in range(0, X.shape[0], _PREDICT_CHUNK):
                rows = X[start : start + _PREDICT_CHUNK]
                xt = torch.as_tensor((rows - self._x_mean_) / self._x_scale_, dtype=dt)
                outputs.append(net(xt.to(device)).cpu())
        return torch.cat(outputs) if outputs else torch.empty(0, width, dtype=dt)

    def __getstate__(self) -> dict[str, Any]:
        # Copy: BaseEstimator may hand back the live __dict__, which must keep its cache.
        state = dict(super().__getstate__())
        state.pop("_net_cache", None)  # torch module, possibly on a GPU; rebuilt lazily
        return state


# --------------------------------------------------------------------------- regressors
_REG_ATTRS = """
    coef_ : ndarray of shape (n_features,)
        Raw-unit coefficients (only without hidden layers).
    intercept_ : float
        Raw-unit intercept (only without hidden layers)."""


@_document(
    """PyTorch regression network (linear model or MLP) with the scikit-learn API.

    Minimises the mean ``loss`` plus an optional L2 penalty with the chosen optimizer; see
    the module docstring for units and conventions.
""",
    loss_key="loss_regressor",
    extra_attributes=_REG_ATTRS,
)
class TorchRegressor(RegressorMixin, _TorchEstimator):
    _LOSSES = ("mse", "gaussian_nll")
    _IS_REGRESSOR = True

    def __init__(
        self,
        *,
        hidden_sizes: tuple[int, ...] = (),
        activation: str = "relu",
        loss: str = "mse",
        learn_variance: bool = True,
        variance: str = "shared",
        variance_hidden_sizes: tuple[int, ...] = (16,),
        optimizer: str = "sgd",
        lr: float | None = None,
        momentum: float = 0.0,
        epochs: int = 200,
        batch_size: int | None = None,
        weight_decay: float = 0.0,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 10,
        tol: float | None = None,
        standardize: bool = True,
        device: str = "auto",
        random_state: int | None = None,
        progress: str | bool = "auto",
        dtype: str = "float64",
    ) -> None:
        self.hidden_sizes = hidden_sizes
        self.activation = activation
        self.loss = loss
        self.learn_variance = learn_variance
        self.variance = variance
        self.variance_hidden_sizes = variance_hidden_sizes
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.epochs = epochs
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.standardize = standardize
        self.device = device
        self.random_state = random_state
        self.progress = progress
        self.dtype = dtype

    def fit(self, X: ArrayLike, y: ArrayLike) -> TorchRegressor:
        """Train the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,)
            Real-valued targets.

        Returns
        -------
        self
            The fitted estimator.

        Raises
        ------
        ValueError
            If a hyper-parameter or the data is invalid.
        TrainingDivergedError
            If the loss or a parameter becomes NaN or infinite.
        """
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        self._fit_network(X, y.astype(np.float64), n_out=1)
        return self

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted mean ŷ in raw target units.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        ndarray of shape (n_samples,)
            Predictions.
        """
        out = self._output(X)[:, 0].numpy().astype(np.float64)
        return self._y_mean_ + self._y_scale_ * out

    @available_if(lambda est: est.loss == "gaussian_nll")
    def predict_var(self, X: ArrayLike) -> np.ndarray:
        """Predicted noise variance σ² in raw units (``loss="gaussian_nll"`` only).

        With ``variance="input"`` it is σ²(x) of each row, from the log-variance head. With
        ``variance="shared"`` the model is homoscedastic, so every row gets the same σ²;
        with ``learn_variance=False`` it is the fixed value (see ``learn_variance``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs (validated; with ``variance="shared"`` only their number matters).

        Returns
        -------
        ndarray of shape (n_samples,)
            σ² per sample, e.g. for ``ermlab.losses.gaussian_nll(y, predict(X), var)``.
        """
        if getattr(self, "_var_head_", None) is not None:
            log_var = self._output(X, head="log_var")[:, 0].numpy().astype(np.float64)
            return np.exp(log_var) * self._y_scale_**2
        n = self._output(X).shape[0]
        var = math.exp(float(self._state_["log_var"][0])) * self._y_scale_**2
        return np.full(n, var)


@_document(
    """Linear regression ŷ = X w + b fitted by gradient descent (or L-BFGS) in PyTorch.

    Defaults: full-batch gradient descent on the standardised problem, enough epochs to
    reach the ``numpy.linalg.lstsq`` solution to ~1e-8 on well-conditioned data.
    ``loss="gaussian_nll"`` fits the same line by maximum likelihood; with
    ``variance="input"`` it also learns a noise variance σ²(x) per input, and the line becomes
    a weighted least-squares fit that trusts low-noise points more.
""",
    loss_key="loss_regressor",
    extra_attributes=_REG_ATTRS,
)
class TorchLinearRegression(TorchRegressor):
    # Not constructor parameters: a linear model has no hidden layers by definition.
    hidden_sizes = ()
    activation = "relu"

    def __init__(
        self,
        *,
        loss: str = "mse",
        learn_variance: bool = True,
        variance: str = "shared",
        variance_hidden_sizes: tuple[int, ...] = (16,),
        optimizer: str = "sgd",
        lr: float | None = None,
        momentum: float = 0.0,
        epochs: int = 500,
        batch_size: int | None = None,
        weight_decay: float = 0.0,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 10,
        tol: float | None = None,
        standardize: bool = True,
        device: str = "auto",
        random_state: int | None = None,
        progress: str | bool = "auto",
        dtype: str = "float64",
    ) -> None:
        self.loss = loss
        self.learn_variance = learn_variance
        self.variance = variance
        self.variance_hidden_sizes = variance_hidden_sizes
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.epochs = epochs
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.standardize = standardize
        self.device = device
        self.random_state = random_state
        self.progress = progress
        self.dtype = dtype


@_document(
    """Multi-layer perceptron regressor in PyTorch, with sklearn-MLP-like defaults.

    Adam, mini-batches of 200, one hidden layer of 100 ReLU units, and training stops when
    the training loss improves by less than ``tol`` for ``patience`` epochs.
""",
    loss_key="loss_regressor",
)
class TorchMLPRegressor(TorchRegressor):
    def __init__(
        self,
        *,
        hidden_sizes: tuple[int, ...] = (100,),
        activation: str = "relu",
        loss: str = "mse",
        learn_variance: bool = True,
        variance: str = "shared",
        variance_hidden_sizes: tuple[int, ...] = (16,),
        optimizer: str = "adam",
        lr: float | None = None,
        momentum: float = 0.0,
        epochs: int = 200,
        batch_size: int | None = 200,
        weight_decay: float = 0.0,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 10,
        tol: float | None = 1e-4,
        standardize: bool = True,
        device: str = "auto",
        random_state: int | None = None,
        progress: str | bool = "auto",
        dtype: str = "float64",
    ) -> None:
        super().__init__(
            hidden_sizes=hidden_sizes,
            activation=activation,
            loss=loss,
            learn_variance=learn_variance,
            variance=variance,
            variance_hidden_sizes=variance_hidden_sizes,
            optimizer=optimizer,
            lr=lr,
            momentum=momentum,
            epochs=epochs,
            batch_size=batch_size,
            weight_decay=weight_decay,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            patience=patience,
            tol=tol,
            standardize=standardize,
            device=device,
            random_state=random_state,
            progress=progress,
            dtype=dtype,
        )


# -------------------------------------------------------------------------- classifiers
_CLF_ATTRS = """
    classes_ : ndarray of shape (n_classes,)
        Class labels, in the column order of ``predict_proba``.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Raw-unit coefficients, one row for two classes (as sklearn), else one per class
        (only without hidden layers).
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Raw-unit intercepts (only without hidden layers)."""


@_document(
    """PyTorch classification network (logistic / softmax regression or MLP), sklearn API.

    Two classes use one logit z (P(classes_[1]) = sigmoid(z)), more use one logit per class
    with a softmax; the loss is the mean cross-entropy plus an optional L2 penalty.
""",
    loss_key="loss_classifier",
    extra_attributes=_CLF_ATTRS,
)
class TorchClassifier(ClassifierMixin, _TorchEstimator):
    _LOSSES = ("cross_entropy",)

    def __init__(
        self,
        *,
        hidden_sizes: tuple[int, ...] = (),
        activation: str = "relu",
        loss: str = "cross_entropy",
        optimizer: str = "sgd",
        lr: float | None = None,
        momentum: float = 0.0,
        epochs: int = 200,
        batch_size: int | None = None,
        weight_decay: float = 0.0,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 10,
        tol: float | None = None,
        standardize: bool = True,
        device: str = "auto",
        random_state: int | None = None,
        progress: str | bool = "auto",
        dtype: str = "float64",
    ) -> None:
        self.hidden_sizes = hidden_sizes
        self.activation = activation
        self.loss = loss
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.epochs = epochs
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.standardize = standardize
        self.device = device
        self.random_state = random_state
        self.progress = progress
        self.dtype = dtype

    def fit(self, X: ArrayLike, y: ArrayLike) -> TorchClassifier:
        """Train the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,)
            Class labels (at least two distinct values).

        Returns
        -------
        self
            The fitted estimator.

        Raises
        ------
        ValueError
            If a hyper-parameter or the data is invalid.
        TrainingDivergedError
            If the loss or a parameter becomes NaN or infinite.
        """
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        classes, encoded = np.unique(y, return_inverse=True)
        if classes.shape[0] < 2:
            raise ValueError(f"y must contain at least 2 classes; got 1 class: {classes.tolist()}")
        self.classes_ = classes
        self._fit_network(X, encoded, n_out=1 if classes.shape[0] == 2 else classes.shape[0])
        return self

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """Logits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
            The logit of ``classes_[1]`` for two classes, else one logit per class.
        """
        out = self._output(X).numpy().astype(np.float64)
        return out[:, 0] if out.shape[1] == 1 else out

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Probabilities, columns ordered as ``classes_``; rows sum to 1.
        """
        out = self._output(X)
        if out.shape[1] == 1:
            p1 = out[:, 0].sigmoid().numpy().astype(np.float64)
            return np.column_stack([1.0 - p1, p1])
        return out.softmax(dim=1).numpy().astype(np.float64)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Most probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


@_document(
    """Logistic (two classes) or softmax (multinomial) regression in PyTorch.

    Minimises the same objective as ``sklearn.linear_model.LogisticRegression(C=C)`` (L2,
    multinomial loss for more than two classes), by default with L-BFGS, so ``coef_`` and
    ``intercept_`` match sklearn's at convergence.
""",
    loss_key="loss_classifier",
    extra_attributes=_CLF_ATTRS,
)
class TorchLogisticRegression(TorchClassifier):
    # Not constructor parameters: fixed by the model's definition.
    hidden_sizes = ()
    activation = "relu"
    loss = "cross_entropy"

    def __init__(
        self,
        *,
        C: float = 1.0,
        optimizer: str = "lbfgs",
        lr: float | None = None,
        momentum: float = 0.0,
        epochs: int = 100,
        batch_size: int | None = None,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 10,
        tol: float | None = None,
        standardize: bool = True,
        device: str = "auto",
        random_state: int | None = None,
        progress: str | bool = "auto",
        dtype: str = "float64",
    ) -> None:
        self.C = C
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.epochs = epochs
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.standardize = standardize
        self.device = device
        self.random_state = random_state
        self.progress = progress
        self.dtype = dtype

    def _l2_strength(self, n_train: int) -> float:
        # sklearn: ½‖W‖² + C Σ loss_i  ==  C n (mean loss + ‖W‖² / (2 C n)).
        return 1.0 / (_check_real("C", self.C, 0.0, open_low=True) * n_train)


@_document(
    """Multi-layer perceptron classifier in PyTorch, with sklearn-MLP-like defaults.

    Adam, mini-batches of 200, one hidden layer of 100 ReLU units, and training stops when
    the training loss improves by less than ``tol`` for ``patience`` epochs.
""",
    loss_key="loss_classifier",
    extra_attributes=_CLF_ATTRS,
)
class TorchMLPClassifier(TorchClassifier):
    def __init__(
        self,
        *,
        hidden_sizes: tuple[int, ...] = (100,),
        activation: str = "relu",
        loss: str = "cross_entropy",
        optimizer: str = "adam",
        lr: float | None = None,
        momentum: float = 0.0,
        epochs: int = 200,
        batch_size: int | None = 200,
        weight_decay: float = 0.0,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 10,
        tol: float | None = 1e-4,
        standardize: bool = True,
        device: str = "auto",
        random_state: int | None = None,
        progress: str | bool = "auto",
        dtype: str = "float64",
    ) -> None:
        super().__init__(
            hidden_sizes=hidden_sizes,
            activation=activation,
            loss=loss,
            optimizer=optimizer,
            lr=lr,
            momentum=momentum,
            epochs=epochs,
            batch_size=batch_size,
            weight_decay=weight_decay,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            patience=patience,
            tol=tol,
            standardize=standardize,
            device=device,
            random_state=random_state,
            progress=progress,
            dtype=dtype,
        )
