"""Remote-code entry of a TinyLLaVA saved from TinyLLaVA_Factory's own classes: the factory's config class.

The hub model's remote code (configuration.py / modeling_tinyllava_phi.py of
tinyllava/TinyLLaVA-Phi-2-SigLIP-3.1B) is out of reach here; a model folder saved from the factory loads with
``AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True)`` (what upstream's custom_finetune.py
calls) through these two small files, which take the classes from the factory installed in .venv-tinyllava.
"""

from tinyllava.model.configuration_tinyllava import TinyLlavaConfig  # noqa: F401
