"""What runs the model: one module per backend, each behind the interface of :mod:`spacy_goemotions.core.backend`.

- :mod:`.torch_choice`: ``backend="torch"``, which picks packed batches (:mod:`.torch_packed`, CUDA with
  flash-attn) or padded ones (:mod:`.torch_eager`, through :mod:`.torch_compiled` with ``compile=True``).
- :mod:`.openvino`: ``backend="openvino"``, the model converted and run by OpenVINO on the CPU.

The core never imports these modules: it finds them through the registry in ``core.backend_registry``, which
also resolves ``backend="auto"`` to one of them.
"""
