module gortbench

go 1.22
