//! Prediction of the Paketo JVM memory calculator (libjvm `helper/memory_calculator.go`).
