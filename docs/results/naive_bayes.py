#!/usr/bin/env python3
"""The transfer task's ceiling check in docs/RESULTS.md: a bag-of-words naive Bayes on Debian's
manual pages with a page split like TransferStudy's (35% of page names, by a hash, are test pages;
not the same hash, so not the same pages), balanced classes. Roff is stripped crudely here (the study uses RoffText), so treat the numbers
as a guide to which task is learnable, not as the study's own.

usage: python3 docs/results/naive_bayes.py manpages-de de     # German (manpages-de)
       python3 docs/results/naive_bayes.py manpages ""        # English (manpages)
"""
import gzip, re, os, subprocess, hashlib, math, random, collections, sys
def pages(pkg, lang):
    files=subprocess.run(['dpkg','-L',pkg],capture_output=True,text=True).stdout.split()
    pre='/usr/share/man/%sman'%(lang+'/' if lang else '')
    out=collections.defaultdict(list)
    for f in files:
        if not f.startswith(pre) or not f.endswith('.gz') or os.path.islink(f): continue
        sec=f[len(pre):].split('/')[0]
        t=gzip.open(f).read().decode('utf8','replace')
        if t.startswith('.so '): continue
        paras=[];cur=[]
        for line in t.split('\n'):
            if line.startswith('.') or line.startswith("'"):
                if re.match(r"^\.(PP|P|LP|SH|SS|TP|IP|HP|sp|br)\b",line) and cur:
                    paras.append(' '.join(cur));cur=[]
                continue
            line=re.sub(r'\\f[BIRP]|\\\(..|\\[-&e]|\\.', ' ', line)
            if line.strip(): cur.append(line.strip())
            elif cur: paras.append(' '.join(cur));cur=[]
        if cur: paras.append(' '.join(cur))
        name=os.path.basename(f)[:-3].rsplit('.',1)[0]
        for p in paras:
            if len(p)>=24: out[sec].append((name,p))
    return out
def toks(p): return re.findall(r'\w+|[^\w\s]',p.lower())
def run(data, a, b):
    def test(name): return int(hashlib.sha256(name.encode()).hexdigest(),16)%100<35
    tr=[(p,0) for n,p in data[a] if not test(n)]+[(p,1) for n,p in data[b] if not test(n)]
    te0=[(p,0) for n,p in data[a] if test(n)]; te1=[(p,1) for n,p in data[b] if test(n)]
    k=min(len(te0),len(te1)); te=te0[:k]+te1[:k]
    c=[collections.Counter(),collections.Counter()]; n=[0,0]
    tr0=[x for x in tr if x[1]==0]; tr1=[x for x in tr if x[1]==1]; m=min(len(tr0),len(tr1)); tr=tr0[:m]+tr1[:m]
    for p,l in tr: c[l].update(toks(p)); n[l]+=1
    V=len(set(c[0])|set(c[1])); tot=[sum(c[0].values()),sum(c[1].values())]
    ok=0
    for p,l in te:
        s=[math.log(n[i])+sum(math.log((c[i][w]+1)/(tot[i]+V)) for w in toks(p)) for i in (0,1)]
        ok+= (s[1]>s[0])==l
    return len(tr), len(te), ok/max(1,len(te))
pkg, lang = sys.argv[1], sys.argv[2]
d=pages(pkg, lang)
print(pkg, {k:len(v) for k,v in d.items()})
for a,b in [('5','7'),('1','5'),('1','7'),('1','8'),('5','8'),('7','8')]:
    if d[a] and d[b]: print(a,'v',b, run(d,a,b))
