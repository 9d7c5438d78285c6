module gortcompare

go 1.22
