"""Remote-code entry of a TinyLLaVA saved from TinyLLaVA_Factory's own classes, plus the hub model's chat().

The model is the factory's ``TinyLlavaForConditionalGeneration`` unchanged. The hub model's remote code also
offers ``chat(prompt, tokenizer, image, max_new_tokens, num_beams, top_p, temperature) -> (text, seconds)``,
which our tinyllava engine calls; the factory's class has no such method, so it is added here, made of the
factory's own pieces: the phi template (TextPreprocess), its image preprocessing, its keyword stopping
criterion and its generate().
"""

import time

import torch
from PIL import Image
from tinyllava.data.image_preprocess import ImagePreprocess
from tinyllava.data.text_preprocess import TextPreprocess
from tinyllava.model.modeling_tinyllava import TinyLlavaForConditionalGeneration as FactoryModel
from tinyllava.utils.constants import DEFAULT_IMAGE_TOKEN
from tinyllava.utils.eval_utils import KeywordsStoppingCriteria
from tinyllava.utils.message import Message

from .configuration_tinyllava_factory import TinyLlavaConfig


class TinyLlavaForConditionalGeneration(FactoryModel):
    config_class = TinyLlavaConfig

    def chat(self, prompt, tokenizer, image=None, max_new_tokens=512, num_beams=1, top_p=None, temperature=0,
             conv_mode="phi"):
        started = time.time()
        text = TextPreprocess(tokenizer, conv_mode)
        msg = Message()
        msg.add_message((DEFAULT_IMAGE_TOKEN + "\n" + prompt) if image is not None else prompt)
        input_ids = text(msg.messages, mode="eval")["input_ids"].unsqueeze(0).to(self.device)
        images = None
        if image is not None:
            pil = image if isinstance(image, Image.Image) else Image.open(image)
            pixels = ImagePreprocess(self.vision_tower._image_processor, self.config)(pil.convert("RGB"))
            images = pixels.unsqueeze(0).to(device=self.device, dtype=self.dtype)
        stop = text.template.separator.apply()[1]
        with torch.inference_mode():
            out = self.generate(input_ids, images=images, do_sample=temperature > 0,
                                temperature=temperature if temperature > 0 else None, top_p=top_p,
                                num_beams=num_beams, max_new_tokens=max_new_tokens, use_cache=True,
                                pad_token_id=tokenizer.pad_token_id,
                                stopping_criteria=[KeywordsStoppingCriteria([stop], tokenizer, input_ids)])
        answer = tokenizer.batch_decode(out, skip_special_tokens=True)[0].strip()
        if answer.endswith(stop):
            answer = answer[: -len(stop)].strip()
        return answer, time.time() - started
