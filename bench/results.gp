# results.gp - bench/results.png: each peer's figure divided by async.h's,
# per workload metric, on a log scale (above 1 = async.h better).
# Called by bench/report.py with datafile, outfile, ncols (how many peers)
# and ymin (below the smallest ratio, so that every bar shows).
set terminal pngcairo size 1400,640 font "sans,10"
set output outfile
set title "async.h benchmarks: peer / async.h (log scale; above 1 = async.h better)"
set logscale y
set format y "%gx"
set ylabel "peer / async.h"
set grid ytics
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set datafile missing "-"
set key top left autotitle columnheader
set xtics rotate by -30 nomirror
set yrange [ymin:*]
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb "black"
plot for [i=2:ncols+1] datafile using i:xtic(1)
