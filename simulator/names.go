package simulator

import (
	"math/rand/v2"

	"github.com/hlwarn/hlwarn/schemas"
)

var (
	surnames   = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
	givenChars = []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建文斌宇浩凯鑫晨欣怡博雪琳颖婷倩思佳子俊飞峰波宁瑞")
	orgWords   = []string{"恒通", "华远", "中联", "海纳", "永盛", "瑞丰", "金桥", "东方", "新宇", "博达", "天成", "鼎新", "嘉禾", "远航", "汇通", "宏达", "盛世", "通达", "安泰", "信诚"}
	orgKinds   = []string{"贸易有限公司", "进出口有限公司", "供应链管理有限公司", "电子有限公司", "机械制造有限公司", "报关有限公司", "国际物流有限公司", "食品有限公司"}
)

// personName is a plausible Chinese name of two or three characters.
func personName(rng *rand.Rand) string {
	name := []rune{surnames[rng.IntN(len(surnames))], givenChars[rng.IntN(len(givenChars))]}
	if rng.IntN(3) > 0 {
		name = append(name, givenChars[rng.IntN(len(givenChars))])
	}
	return string(name)
}

// companyName is a plausible company name in the city of the customs.
func companyName(rng *rand.Rand, sub *Dept) string {
	city := directNames[sub.CustomsCode[:2]]
	return city + orgWords[rng.IntN(len(orgWords))] + orgWords[rng.IntN(len(orgWords))] + orgKinds[rng.IntN(len(orgKinds))]
}

// usccChars is GB 32100's charset (no I, O, S, V, Z).
const usccChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// newUSCC is a well-formed unified social credit code: 91 (enterprise), a
// six-digit region, a nine-character organisation code and the check character.
func newUSCC(rng *rand.Rand) string {
	b := []byte("91")
	for _, r := range []string{"310115", "440300", "440101", "370200", "320100", "110105"}[rng.IntN(6)] {
		b = append(b, byte(r))
	}
	for i := 0; i < 9; i++ {
		b = append(b, usccChars[rng.IntN(len(usccChars))])
	}
	c, err := schemas.USCCCheckChar(string(b))
	if err != nil {
		panic(err)
	}
	return string(append(b, c))
}
