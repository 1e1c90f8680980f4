# The README's two commands: `make demo` and `make test`. Both install what is missing
# (Debian packages), configure and build first.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
DEMO_OUT ?= out/demo
SAMPLE := data/sample/example_ct.nii.gz
STAMP := $(BUILD_DIR)/.deps-installed
# Lets ccache reuse objects across clones in different folders.
export CCACHE_BASEDIR := $(CURDIR)

.PHONY: all deps configure build demo test test-sanitize fuzz bench tidy clean format

all: build

$(STAMP): scripts/install-deps.sh
	./scripts/install-deps.sh
	mkdir -p $(BUILD_DIR) && touch $@

deps: $(STAMP)

$(BUILD_DIR)/CMakeCache.txt: $(STAMP)
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release

configure: $(BUILD_DIR)/CMakeCache.txt

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

demo: build
	./scripts/demo.sh $(BUILD_DIR)/apps/spinescreen/spinescreen $(SAMPLE) $(DEMO_OUT)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 900

# The test suite again under AddressSanitizer + UndefinedBehaviorSanitizer; any report fails.
SAN_DIR ?= build-sanitize
test-sanitize: deps
	cmake -S . -B $(SAN_DIR) -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g1" \
	  -DCMAKE_C_FLAGS="-O1 -g1" -DSPINESCREEN_SANITIZE=ON -DSPINESCREEN_BUILD_BENCH=OFF
	cmake --build $(SAN_DIR) -j $(JOBS)
	cd $(SAN_DIR) && ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 1800 -LE no_sanitize

# libFuzzer targets (clang + ASan/UBSan), FUZZ_SECONDS each.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 30
FUZZ_TARGETS := fuzz_nifti fuzz_dicom_series fuzz_manifest_csv fuzz_report_text fuzz_report_json
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSPINESCREEN_FUZZ=ON -DSPINESCREEN_BUILD_TESTS=OFF -DSPINESCREEN_BUILD_BENCH=OFF
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target $(FUZZ_TARGETS) fuzz_make_seeds
	./scripts/run-fuzz.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

# clang-tidy over src/ and apps/ with .clang-tidy, from a clang configuration of its own (the
# ITK headers need the clang compatibility header that only a clang configuration sets up).
TIDY_DIR ?= build-tidy
tidy: deps
	CC=clang CXX=clang++ cmake -S . -B $(TIDY_DIR) -DCMAKE_BUILD_TYPE=Release \
	  -DSPINESCREEN_BUILD_TESTS=OFF -DSPINESCREEN_BUILD_BENCH=OFF > /dev/null
	run-clang-tidy -quiet -j $(JOBS) -p $(TIDY_DIR) '^$(CURDIR)/(src|apps)/' > $(TIDY_DIR)/tidy.log 2>&1 \
	  || { sed 's/\x1b\[[0-9;]*m//g' $(TIDY_DIR)/tidy.log | grep -E '(warning|error): ' | sort -u \
	       | tail -50; exit 1; }

bench: build
	./bench/run_all.sh $(BUILD_DIR)

format:
	find src apps tests bench -name '*.cpp' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) out
