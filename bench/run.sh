#!/usr/bin/env bash
# Installs the engine jar into the local Maven repository, builds the JMH benchmarks and runs them.
# Short settings by default (one fork, 2 warm-up and 3 measured iterations): the whole run takes a few
# minutes on 2 cores. Any arguments go to JMH, e.g.  bench/run.sh ConvBench -p layer=dec64
#   or, for the pure-Java GEMM under the convolutions:  bench/run.sh -jvmArgsAppend -Dfrl.blas=java
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
JAVA_HOME=$("$here/../frl" jdk)   # the same JDK lookup as every other entry point
export JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"

(cd "$here/.." && mvn -B -q install -DskipTests)
(cd "$here" && mvn -B -q package -DskipTests)

cd "$here"
java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx2g \
  -cp "target/classes:target/lib/*" frl.bench.BenchMain \
  -f 1 -wi 2 -i 3 -w 1s -r 2s "$@"
