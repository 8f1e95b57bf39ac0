package simulator

import (
	"math"
	"math/rand/v2"

	"github.com/hlwarn/hlwarn/schemas"
)

// goods is one line of the simulated tariff: what a declaration item can be.
type goods struct {
	hs, name, unit string
	rate           schemas.Decimal // MFN duty rate
	price          int64           // typical unit price, yuan
	ref            bool            // customs publishes a reference price (价格参数) for it
}

var goodsCatalogue = []goods{
	{"8471300000", "笔记本电脑", "台", 0, 4500, false},
	{"8517130000", "智能手机", "台", 0, 3200, false},
	{"8542319000", "集成电路", "个", 0, 12, false},
	{"8703239000", "小轿车", "辆", 150000, 260000, true},
	{"8708299000", "汽车车身零件", "千克", 60000, 85, false},
	{"6109100010", "棉制针织T恤衫", "件", 60000, 35, false},
	{"6403990000", "皮鞋", "双", 100000, 420, false},
	{"0201300000", "冷鲜去骨牛肉", "千克", 120000, 68, true},
	{"0303890090", "冻鱼", "千克", 70000, 22, false},
	{"0402210000", "婴儿配方奶粉", "千克", 100000, 160, true},
	{"2204210000", "瓶装葡萄酒", "升", 140000, 95, true},
	{"3304990000", "护肤品", "千克", 10000, 900, false},
	{"3901100000", "聚乙烯", "千克", 65000, 9, false},
	{"7208510000", "热轧钢板", "千克", 30000, 5, false},
	{"7403111000", "精炼铜阴极", "千克", 10000, 68, true},
	{"8443321000", "激光打印机", "台", 0, 1800, false},
	{"8481804090", "阀门", "个", 50000, 650, false},
	{"9018907000", "医疗器械", "个", 40000, 3800, false},
	{"2709000000", "原油", "千克", 0, 4, true},
	{"1201901000", "大豆", "千克", 30000, 4, true},
	{"4011100000", "汽车轮胎", "条", 100000, 520, false},
	{"8415102000", "空调器", "台", 100000, 2600, false},
	{"9503008900", "玩具", "个", 0, 45, false},
	{"3004909099", "药品", "千克", 30000, 1200, false},
}

var origins = []string{"US", "DE", "JP", "KR", "AU", "BR", "VN", "TH", "FR", "IT", "GB", "MY", "NZ", "CA", "CL"}

// drawValue is a declaration's customs value: heavy-tailed, from a couple of
// thousand yuan to tens of millions. The float only shapes the draw.
func drawValue(rng *rand.Rand) schemas.Money {
	v := math.Exp(math.Log(60000) + 1.6*rng.NormFloat64())
	v = min(max(v, 2000), 8e7)
	return schemas.Money(int64(v) * 100)
}

// items splits value over 1–5 goods lines. taxed says whether duty applies:
// duty-free regimes and exports carry a zero rate, so duty_payable is always
// the sum of value × rate.
func items(rng *rand.Rand, no string, value schemas.Money, taxed bool) []schemas.DeclarationItem {
	n := 1 + []int{0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 4}[rng.IntN(11)]
	n = max(1, min(n, int(value/schemas.Yuan(1000))))
	weights := make([]float64, n)
	total := 0.0
	for i := range weights {
		weights[i] = 0.2 + rng.Float64()
		total += weights[i]
	}
	out := make([]schemas.DeclarationItem, n)
	left := value
	for i := range out {
		v := left
		if i < n-1 {
			v = schemas.Money(float64(value) * weights[i] / total)
		}
		left -= v
		out[i] = item(rng, no, int32(i+1), v, taxed)
	}
	return out
}

// item is one goods line worth v. Its unit price is at least 75 % of the
// reference price where there is one, so normal data never looks undervalued
// (B10): qty is rounded down, which only raises the unit price.
func item(rng *rand.Rand, no string, n int32, v schemas.Money, taxed bool) schemas.DeclarationItem {
	g := goodsCatalogue[rng.IntN(len(goodsCatalogue))]
	for try := 0; schemas.Yuan(g.price) > v && try < 8; try++ {
		g = goodsCatalogue[rng.IntN(len(goodsCatalogue))]
	}
	price := schemas.Money(float64(schemas.Yuan(g.price)) * (0.75 + 0.55*rng.Float64()))
	qty := max(1, int64(v/max(price, 1)))
	it := schemas.DeclarationItem{
		DeclNo: no, ItemNo: n, HSCode: ptr(g.hs), GoodsName: ptr(g.name),
		OriginCountry: ptr(origins[rng.IntN(len(origins))]),
		Qty:           ptr(schemas.Decimal(qty * 1_000_000)), Unit: ptr(g.unit),
		UnitPrice: ptr(schemas.Decimal(int64(v) * 10_000 / qty)), Currency: ptr("CNY"),
		CustomsValue: ptr(v), DutyRate: ptr(schemas.Decimal(0)),
	}
	if taxed {
		it.DutyRate = ptr(g.rate)
	}
	if g.ref && schemas.Yuan(g.price) <= v {
		it.ReferencePrice = ptr(schemas.Decimal(g.price * 1_000_000))
	}
	return it
}

// dutyOf is the sum of each item's value × duty rate, each rounded to the fen.
func dutyOf(its []schemas.DeclarationItem) schemas.Money {
	var d int64
	for _, it := range its {
		d += (int64(*it.CustomsValue)*int64(*it.DutyRate) + 500_000) / 1_000_000
	}
	return schemas.Money(d)
}

// vatOf is import VAT at 13 % of value plus duty, rounded to the fen.
func vatOf(value, duty schemas.Money) schemas.Money {
	return (value + duty) * 13 / 100
}

// levy is a daily 0.5 ‰ charge (滞报金 on the customs value, 滞纳金 on the
// tax) for days late, in whole yuan. Both regulations drop the part below one
// yuan rather than round it (不足1元的部分免予计收), so it is truncated.
func levy(base schemas.Money, days int) schemas.Money {
	if days <= 0 {
		return 0
	}
	return schemas.Yuan(int64(base) * 5 * int64(days) / 1_000_000)
}

// levyThreshold is the least charge that is levied at all (起征点 50 yuan).
var levyThreshold = schemas.Yuan(50)

// Warning colours.
const (
	yellow = "yellow"
	orange = "orange"
	red    = "red"
)

// colourM1M2 grades an amount: below M1 (10 000) yellow, below M2 (100 000)
// orange, red above.
func colourM1M2(m schemas.Money) string {
	switch {
	case m < schemas.Yuan(10_000):
		return yellow
	case m < schemas.Yuan(100_000):
		return orange
	}
	return red
}

// colourRatio grades an overrun x of limit (x > limit) by "1×/2×/4× the limit".
func colourRatio[T ~int | ~int64](x, limit T) string {
	switch {
	case x >= 4*limit:
		return red
	case x >= 2*limit:
		return orange
	}
	return yellow
}

// colourFee grades a 滞报金 left unlevied (A01): below 1 000 yellow, below
// 10 000 orange, red above.
func colourFee(fee schemas.Money) string {
	switch {
	case fee < schemas.Yuan(1_000):
		return yellow
	case fee < schemas.Yuan(10_000):
		return orange
	}
	return red
}
