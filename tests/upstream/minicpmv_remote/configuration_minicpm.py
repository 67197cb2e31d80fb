"""Stand-in remote code: the configuration of a tiny MiniCPM-Llama3-V-2_5-shaped model.

MiniCPM-Llama3-V-2_5's own remote code lives on the model hub, which these machines cannot reach. This file
and its neighbours give upstream finetune/ (OpenBMB/MiniCPM-V @ 9bd93a2) the interface it uses: a Llama
config carrying the vision settings (``query_num``, ``patch_size``, ``batch_vision_input``), a ``slice_config``
sub-config with ``to_dict()`` (``patch_size``, ``max_slice_nums``, ``scale_resolution``) and an Idefics2
vision config. Written for the pinned transformers 4.40.
"""

from transformers import LlamaConfig, PretrainedConfig
from transformers.models.idefics2.configuration_idefics2 import Idefics2VisionConfig


class MiniCPMVSliceConfig(PretrainedConfig):
    model_type = "minicpmv"

    def __init__(self, patch_size=14, max_slice_nums=9, scale_resolution=448, **kwargs):
        super().__init__(**kwargs)
        self.patch_size = patch_size
        self.max_slice_nums = max_slice_nums
        self.scale_resolution = scale_resolution


class MiniCPMVConfig(LlamaConfig):
    model_type = "minicpmv"
    keys_to_ignore_at_inference = ["past_key_values"]

    def __init__(self, query_num=64, patch_size=14, batch_vision_input=True, slice_mode=True,
                 slice_config=None, vision_config=None, **kwargs):
        self.query_num = query_num
        self.patch_size = patch_size
        self.batch_vision_input = batch_vision_input
        self.slice_mode = slice_mode
        # Sub-configs arrive as dicts from config.json and as objects from code.
        if isinstance(slice_config, PretrainedConfig):
            self.slice_config = slice_config
        else:
            self.slice_config = MiniCPMVSliceConfig(**(slice_config or {}))
        if isinstance(vision_config, PretrainedConfig):
            self.vision_config = vision_config
        else:
            self.vision_config = Idefics2VisionConfig(**(vision_config or {}))
        super().__init__(**kwargs)
