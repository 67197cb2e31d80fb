"""Records what DeepSpeed actually built in this process: its CPU Adam, and the ZeRO-3 optimizer's offload
switches. Used by the ZeRO-3 config test's child process and by gpu_zero3_fp16.py (run on a GPU machine)."""

from __future__ import annotations


def record_deepspeed_choices(seen: dict) -> None:
    """Patch DeepSpeed so that building its CPU Adam sets ``seen["cpu_adam"]`` and building the ZeRO-3
    optimizer sets ``seen["offload_optimizer"]`` and ``seen["offload_param"]``."""
    import deepspeed.ops.adam as ds_adam
    import deepspeed.runtime.zero.stage3 as stage3

    adam_init = ds_adam.DeepSpeedCPUAdam.__init__

    def cpu_adam(self, *a, **k):
        seen["cpu_adam"] = True
        adam_init(self, *a, **k)

    ds_adam.DeepSpeedCPUAdam.__init__ = cpu_adam
    z3_init = stage3.DeepSpeedZeroOptimizer_Stage3.__init__

    def zero3(self, *a, **k):
        z3_init(self, *a, **k)
        seen["offload_optimizer"], seen["offload_param"] = self.offload_optimizer, self.offload_param

    stage3.DeepSpeedZeroOptimizer_Stage3.__init__ = zero3
