"""Random plans the verifier accepts, each compiled for a random odd-sized
einsum, as bundles for the GPU to check: the plan space beyond what the
planner picks (users may give any plan). Run 2026-11-24 (bench/RESULTS.md,
run BR), it found a hang that the verifier now refuses.

  python3 scripts/plan-sweep.py OUT N SEED     (compiler: $EINLOOM_COMPILE or
                                                 build/bin/einloom-compile)
Writes OUT/pNNN.bundle (cp.async plans) and OUT/tNNN.bundle (TMA plans,
N / 2), each with a .txt of its command. On the GPU machine:
  for b in OUT/*.bundle; do timeout 60 einloom-run-rt --check $b; done
"""
import os
import random
import subprocess
import sys

C = os.environ.get("EINLOOM_COMPILE", "build/bin/einloom-compile")
out = sys.argv[1]
N = int(sys.argv[2])
rng = random.Random(int(sys.argv[3]))
os.makedirs(out, exist_ok=True)
layouts=['mk,nk->mn','mk,kn->mn','km,kn->mn','km,nk->mn','bmk,bnk->bmn','bkm,bkn->bmn']
dts=[('f16',16,64,'m16n8k16'),('bf16',16,64,'m16n8k16'),('i8',32,128,'m16n8k32')]
ok=0; tried=0
while ok < N and tried < N*40:
    tried+=1
    spec=rng.choice(layouts); dt,_,tk,mma=rng.choice(dts)
    tm=rng.choice([16,32,48,64,96,128,192,256]); tn=rng.choice([16,32,48,64,96,128,192,256])
    wm=rng.choice([1,2,3,4,8]); wn=rng.choice([1,2,3,4])
    st=rng.choice([2,3,4]); sk=rng.choice([1,1,1,2,3])
    ras=rng.choice(['row_major','column_major','swizzle'])
    plan=f'#loom.plan<tile_m = {tm}, tile_n = {tn}, tile_k = {tk}, warps_m = {wm}, warps_n = {wn}, mma = {mma}, stages = {st}'
    if sk>1: plan+=f', split_k = {sk}'
    if ras=='swizzle': plan+=f', raster = swizzle, swizzle = {rng.choice([2,4,8])}'
    elif ras=='column_major': plan+=', raster = column_major'
    plan+='>'
    sizes=dict(m=rng.choice([1,7,33,100,129,255,300]), n=rng.choice([1,8,33,96,130,257]), k=rng.choice([16,64,200,333,520]), b=rng.choice([1,2,3]))
    labels=sorted(set(c for c in spec.split('->')[0] if c.isalpha()))
    sz=','.join(f'{l}={sizes[l]}' for l in labels)
    target=rng.choice(['sm_80','sm_90a'])
    name=f'p{ok:03d}'
    args=[C,'--einsum',spec,'--sizes',sz,'--dtype',dt,'--target',target,'--plan',plan,'-o',f'{out}/{name}.bundle']
    p=subprocess.run(args,capture_output=True,text=True)
    if p.returncode==0:
        open(f'{out}/{name}.txt','w').write(' '.join(args[1:])+'\n')
        ok+=1
    elif 'error' not in p.stderr:
        print('NOERR', args, p.stderr[:200])
print('accepted', ok, 'of', tried)
# TMA plans (sm_90a): wgmma and mma.sync consumers
tm_ok=0; tries=0
while tm_ok < N//2 and tries < N*20:
    tries+=1
    spec=rng.choice(['mk,nk->mn','bmk,bnk->bmn','km,kn->mn','mk,kn->mn']); dt,_,tk,mma=rng.choice(dts)
    if rng.random()<0.5:
        tmv=rng.choice([64,128]); tnv=rng.choice([64,128,256])
        plan=f'#loom.plan<tile_m = {tmv}, tile_n = {tnv}, tile_k = {tk}, warps_m = {tmv//16}, warps_n = 1, mma = {"wgmma_k16" if tk==64 else "wgmma_k32"}, stages = {rng.choice([2,3,4])}, producer = tma'
    else:
        tmv,tnv,wmv,wnv=rng.choice([(128,256,2,4),(128,128,2,2),(128,256,4,2),(128,128,4,2)])
        plan=f'#loom.plan<tile_m = {tmv}, tile_n = {tnv}, tile_k = {tk}, warps_m = {wmv}, warps_n = {wnv}, mma = {mma}, stages = {rng.choice([2,3,4])}, producer = tma'
    if rng.random()<0.3: plan+=', cluster_m = 2'
    plan+=f', raster = swizzle, swizzle = {rng.choice([1,2,4,8])}>'
    sizes=dict(m=rng.choice([1,7,33,100,129,255,300]), n=rng.choice([8,64,96,136,264]), k=rng.choice([64,200,256,520]), b=rng.choice([1,2,3]))
    labels=sorted(set(c for c in spec.split('->')[0] if c.isalpha()))
    sz=','.join(f'{l}={sizes[l]}' for l in labels)
    name=f't{tm_ok:03d}'
    args=[C,'--einsum',spec,'--sizes',sz,'--dtype',dt,'--target','sm_90a','--plan',plan,'-o',f'{out}/{name}.bundle']
    p=subprocess.run(args,capture_output=True,text=True)
    if p.returncode==0:
        open(f'{out}/{name}.txt','w').write(' '.join(args[1:])+'\n'); tm_ok+=1
    elif 'error' not in p.stderr:
        print('NOERR', args, p.stderr[:200])
print('tma accepted', tm_ok, 'of', tries)
