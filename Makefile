# smartcrop: every command lives here; CI runs `make demo` and `make test` as the README says.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SHARED ?= ../shared
DATASETS := $(SHARED)/datasets/osie $(SHARED)/datasets/eyecrowd $(SHARED)/datasets/scene500
# the backbone the model is trained from (mobilenet_v1 or mobilenet_v2) and its ImageNet release
BACKBONE ?= mobilenet_v1
PRETRAINED_mobilenet_v1 := $(SHARED)/pretrained/mobilenet_v1_1.0_224_quant_embedding_extractor.tflite
PRETRAINED_mobilenet_v2 := $(SHARED)/pretrained/tf2_mobilenet_v2_1.0_224_ptq.tflite
PRETRAINED := $(PRETRAINED_$(BACKBONE))
RUN ?= runs/main
# distillation: exported teacher models whose mean map is blended into the training targets
# (exported with --canvas 320x240, the training canvas)
TEACHERS ?=
TEACH := $(addprefix --teacher ,$(TEACHERS))
# more smartcrop-train options for train and fold, e.g. TRAIN_ARGS="--augment strong --seed 1"
TRAIN_ARGS ?=

.PHONY: help demo docs test test-fast lint bench train eval export export-member backbone fold clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime
	$(PY) -m pip install -q -e '.[dev,train,ray,heif]'
	touch $@

demo: $(VENV)/.runtime  ## install, then crop the bundled samples into demo-out/
	$(VENV)/bin/smartcrop samples/*.jpg demo-out --ratio 16:9 --ratio 1:1 --ratio 9:16 --size 1080x1350 \
		--manifest demo-out/manifest.jsonl --debug demo-out/debug --save-saliency demo-out/saliency --overwrite
	@echo "crops, manifest.jsonl, debug/ overlays and saliency/ maps are in demo-out/"

docs: demo  ## redraw the README's top picture (docs/demo.jpg) from what make demo wrote
	$(PY) docs/make_demo.py demo-out docs/demo.jpg

test: $(VENV)/.dev  ## install test needs (incl. TensorFlow for model tests) and run every test
	$(PY) -m pytest -q

test-fast: $(VENV)/.dev  ## skip slow tests
	$(PY) -m pytest -q -m "not slow"

lint: $(VENV)/.dev  ## ruff
	$(VENV)/bin/ruff check smartcrop tests

bench: $(VENV)/.runtime  ## speed against libvips attention, smartcrop.py and a Pillow centre crop
	@dpkg -s libvips42 >/dev/null 2>&1 || { apt-get update && apt-get install -y --no-install-recommends libvips42; }
	$(PY) -m pip install -q 'pyvips>=2.2'
	$(PY) tests/bench/bench.py --photos 24 --runs 3 --out bench-results

backbone: $(VENV)/.dev  ## convert the backbone's ImageNet TFLite release to float Keras weights
	$(PY) -m smartcrop.model.convert $(PRETRAINED) $(RUN)/$(BACKBONE)_imagenet.weights.h5 --backbone $(BACKBONE)

train: $(VENV)/.dev  ## train the saliency model (resumable: rerun to continue)
	$(VENV)/bin/smartcrop-train $(DATASETS) --backbone $(BACKBONE) --pretrained $(PRETRAINED) --out $(RUN) $(TEACH) $(TRAIN_ARGS)

# the centre mix the shipped model carries (chosen by the cross-dataset crop figure: weights/README.md)
CENTRE ?= --centre-mix 0.4 --centre-fade 0.3 0.6
# --thorough's second model: the same configuration trained with --seed 1 (weights/README.md)
MEMBER ?= runs/main-s1
ENSEMBLE ?= --ensemble saliency_seed1
export: $(VENV)/.dev  ## export the best checkpoint to weights/ (LiteRT, int8 convolutions)
	$(PY) -m smartcrop.model.export $(RUN)/best.weights.h5 --config $(RUN)/config.json \
		$(CENTRE) $(ENSEMBLE)

export-member: $(VENV)/.dev  ## export --thorough's second model (MEMBER's best checkpoint) to weights/, before make export
	$(PY) -m smartcrop.model.export $(MEMBER)/best.weights.h5 --config $(MEMBER)/config.json \
		--name saliency_seed1

eval: $(VENV)/.runtime  ## metrics and crop figure on the validation split
	$(VENV)/bin/smartcrop-eval $(DATASETS) --split val

VAL ?= scene500
FOLD ?= runs/fold-$(VAL)
fold: $(VENV)/.dev  ## one leave-one-dataset-out fold (VAL=osie|eyecrowd|scene500, into FOLD): train, export, score
	$(VENV)/bin/smartcrop-train $(DATASETS) --backbone $(BACKBONE) --pretrained $(PRETRAINED) \
		--val-dataset $(VAL) --out $(FOLD) $(TEACH) $(TRAIN_ARGS)
	$(PY) -m smartcrop.model.export $(FOLD)/best.weights.h5 --config $(FOLD)/config.json \
		--calibrate $(filter-out %/$(VAL),$(DATASETS)) --out $(FOLD)/export $(CENTRE)
	$(VENV)/bin/smartcrop-eval $(DATASETS) --split val --val-dataset $(VAL) \
		--weights $(FOLD)/export --json $(FOLD)/eval.json

clean:
	rm -rf demo-out .pytest_cache
