"""`registry_bootstrap_demo`: a first look at the model registry on a fresh installation.

For each model type, the newest SUCCEEDED training run computed here is registered as
version 1 of a demo model and made its champion. A type with no such run is trained
first, in this process, on small generated data (seeded; a few seconds each), so the
registry pages, predict and scoring have something real to show. Does nothing once a
model is registered.
"""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from runs.models import Run, RunOrigin, RunStatus

DEMO_MODELS = {
    "pd_logistic": ("pd-logistic", "credit", "Probability of default, logistic regression on the credit book."),
    "pd_gbm": ("pd-gbm", "credit", "Probability of default, gradient boosting on the credit book."),
    "regime_mlp": ("regime-mlp", "market", "Market regime classifier (neural network) on the market series."),
    "regime_hmm": ("regime-hmm", "market", "Market regime hidden Markov model on the market series."),
    "vol_garch": ("vol-garch", "market", "GARCH(1,1) volatility forecaster on the market series."),
}
DEMO_HYPERPARAMETERS = {"pd_gbm": {"max_iter": 60}, "regime_mlp": {"epochs": 15}}


class Command(BaseCommand):
    help = "Register the first champions of the demo (training small models first where none exists)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-train", action="store_true", help="Register existing runs only.")

    def handle(self, *args: Any, no_train: bool = False, **options: Any) -> None:
        from django.contrib.auth import get_user_model

        from simulations.registry.models import RegisteredModel
        from simulations.registry.services import alias_set, model_card_update, model_register

        if RegisteredModel.objects.exists():
            self.stdout.write("Models are registered already; no demo champion added.")
            return
        owner = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
        datasets: dict[str, Any] = {}
        for model_type, (name, data, description) in DEMO_MODELS.items():
            run = (Run.objects.filter(kind="training", status=RunStatus.SUCCEEDED, origin=RunOrigin.ENGINE,
                                      params__model_type=model_type).order_by("-finished_at").first())
            if run is None and not no_train:
                run = self._train(model_type, data, datasets, owner)
            if run is None or run.status != RunStatus.SUCCEEDED:
                self.stdout.write(f"{name}: no succeeded training run; skipped")
                continue
            version = model_register(run=run, name=name, actor=None, description=description)
            alias_set(model=version.model, name="champion", version=version, actor=None)
            model_card_update(model=version.model, actor=None, model_card=(
                f"# {name}\n\n{description}\n\n- Trained by run `{run.run_id}` on generated data whose truth is "
                "known (see docs/training.md).\n- Intended use: demonstration only.\n"))
            self.stdout.write(f"{name}: v{version.number} from {run.run_id} is champion")

    def _train(self, model_type: str, data: str, datasets: dict[str, Any], owner: Any) -> Run | None:
        from runs.services import run_create, run_execute
        from simulations.training.datasets import dataset_generate_credit, dataset_generate_market

        if data not in datasets:
            datasets[data] = (dataset_generate_credit(rows=5_000, seed=7, user=owner) if data == "credit"
                              else dataset_generate_market(days=1_500, seed=7, user=owner))
        params = {"model_type": model_type, "dataset": datasets[data].pk, "seed": 1,
                  "hyperparameters": DEMO_HYPERPARAMETERS.get(model_type, {})}
        run = run_create(kind="training", params=params, owner=owner, tags=["demo"], enqueue=False,
                         notes="Demo model of the registry")
        run_execute(run_pk=run.pk)
        return Run.objects.get(pk=run.pk)
