"""Stand-in remote code: the tokenizer class, a fast tokenizer with MiniCPM-V's special tokens as attributes.

dataset.py (upstream finetune/) reads ``im_start``/``im_end``/``slice_start``/``slice_end`` strings,
``im_start_id``/``im_end_id``/``eot_id`` ids and the Llama 3 header tokens; the model's chat() reads the same.
"""

from transformers import PreTrainedTokenizerFast


class MiniCPMVTokenizerFast(PreTrainedTokenizerFast):
    im_start = "<image>"
    im_end = "</image>"
    slice_start = "<slice>"
    slice_end = "</slice>"
    eot_token = "<|eot_id|>"

    @property
    def eos_id(self):
        return self.eos_token_id

    @property
    def bos_id(self):
        return self.bos_token_id

    @property
    def unk_id(self):
        return self.unk_token_id

    @property
    def eot_id(self):
        return self.convert_tokens_to_ids(self.eot_token)

    @property
    def im_start_id(self):
        return self.convert_tokens_to_ids(self.im_start)

    @property
    def im_end_id(self):
        return self.convert_tokens_to_ids(self.im_end)

    @property
    def slice_start_id(self):
        return self.convert_tokens_to_ids(self.slice_start)

    @property
    def slice_end_id(self):
        return self.convert_tokens_to_ids(self.slice_end)
