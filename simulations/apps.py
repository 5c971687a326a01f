from django.apps import AppConfig


class SimulationsConfig(AppConfig):
    name = "simulations"
    verbose_name = "Simulations"

    def ready(self) -> None:
        from runs.artifacts import register_path_holder
        from simulations import kinds  # noqa: F401  (registers the simulation run kind)
        from simulations.training import kind as training_kind  # noqa: F401  (registers the training run kind)
        from simulations.registry import admin as registry_admin  # noqa: F401  (the registry's admin pages)
        from simulations.training.datasets import dataset_paths_held
        from simulations.services import cache_paths_held

        # Deleting a run must not delete bytes the result cache still serves.
        register_path_holder(cache_paths_held)
        # Nor bytes a training dataset is stored as (content-addressed, so they may coincide).
        register_path_holder(dataset_paths_held)
        # verify_checksums also names cache entries that are not engine results.
        from runs.selectors.checksums import register_trust_audit
        from simulations.selectors import cache_trust_problems

        register_trust_audit(cache_trust_problems)
        # The console's Caches page lists and clears the result and report caches.
        from accounts.console.caches import register_cache
        from simulations.cache_registry import REPORTS, RESULTS

        register_cache(RESULTS)
        register_cache(REPORTS)
