# Einloom: the two commands a user needs.
#   make demo   set up, build, and run the example program end to end
#   make test   set up, build, and run every test (lit + GoogleTest through ctest)
#   make python the Python package: a self-contained libeinloom.so and a wheel in dist/
BUILD ?= build
BUILD_TYPE ?= Release

.PHONY: all setup configure build test demo python clean

all: build

setup:
	@bash scripts/setup.sh

$(BUILD)/build.ninja: | setup
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache

configure: setup $(BUILD)/build.ninja

build: configure
	@cmake --build $(BUILD)

test: build
	@cd $(BUILD) && ctest --output-on-failure --timeout 600

demo: build
	@bash scripts/demo.sh $(BUILD)

python: setup
	@bash scripts/build-python.sh

clean:
	rm -rf $(BUILD)
