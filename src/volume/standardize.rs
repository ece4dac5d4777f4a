//! The standardization run: pyramid levels pooled chunk by chunk as rows arrive, OME-Zarr and
//! MRC writing, statistics and the key-image slab.

use super::*;

pub(super) fn run(
    source: &VolumeSource,
    name: &str,
    kind: VolumeKind,
    opts: &VolumeOptions,
    staging_dir: &Path,
) -> Result<VolumeOutputs, VolumeError> {
    let opened = Opened::open(source, name)?;
    let header = opened.header();
    let vs_raw = match opts.voxel_spacing {
        Some(v) => v,
        None => match &opened {
            Opened::Mrc(info) => info.voxel_size_checked()?,
            Opened::Zarr(z) => z.voxel_size,
        },
    };
    let vs = round3(vs_raw);
    if !(vs.is_finite() && vs > 0.0) {
        return Err(VolumeError::BadVoxelSpacing {
            name: name.to_string(),
            value: vs_raw,
        });
    }
    let mrc_extra = match (&opened, source) {
        (Opened::Mrc(info), VolumeSource::Mrc(src)) => {
            let h = &info.header;
            let ext = if opts.write_mrc && h.has_exttyp() && h.nsymbt > 0 {
                Some((h.exttyp, info.read_extended_header(*src)?))
            } else {
                None
            };
            (h.extra1, h.extra2, ext)
        }
        _ => ([0; 8], [0; 84], None),
    };
    let shape = opened.shape();
    let rows = row_source(opened, source)?;
    let target = opts.rescale_to.filter(|t| *t != shape);
    let ctx = Ctx {
        name,
        opts,
        staging_dir,
        vs,
        shape: target.unwrap_or(shape),
        header,
        mrc_extra,
    };
    let Some(target) = target else {
        return match kind {
            VolumeKind::Tomogram => ctx.stream::<f32, _>(&*rows, false, |v| v),
            VolumeKind::TiltSeries => ctx.stream::<f32, _>(&*rows, true, |v| v),
            VolumeKind::SemanticMask { label, threshold } => match threshold {
                Some(t) => {
                    let t = t as f32;
                    ctx.stream::<i8, _>(&*rows, false, move |v| i8::from(v >= t))
                }
                None => {
                    let l = label as f32;
                    ctx.stream::<i8, _>(&*rows, false, move |v| i8::from(v == l))
                }
            },
            VolumeKind::InstanceMask => ctx.stream::<u16, _>(&*rows, false, |v| v as u16),
        };
    };
    // Resized (spec §7.4, the reference's MaskConverter / MultiLabelMaskConverter): with a
    // threshold the raw values are averaged, then thresholded; without one the label is
    // binarised first, averaged, and every voxel the label reaches (`> 0`) is set.
    let resized = |method, pre| resize::Resized::new(&*rows, shape, target, method, pre);
    match kind {
        VolumeKind::Tomogram => {
            ctx.stream::<f32, _>(&resized(resize::Method::LocalMean, None), false, |v| v)
        }
        VolumeKind::TiltSeries => {
            ctx.stream::<f32, _>(&resized(resize::Method::LocalMean, None), true, |v| v)
        }
        VolumeKind::SemanticMask { label, threshold } => match threshold {
            Some(t) => {
                let t = t as f32;
                let r = resized(resize::Method::LocalMean, None);
                ctx.stream::<i8, _>(&r, false, move |v| i8::from(v >= t))
            }
            None => {
                let l = label as f32;
                let binarise: Box<dyn Fn(f32) -> f32 + Sync> =
                    Box::new(move |v| if v == l { 1.0 } else { 0.0 });
                let r = resized(resize::Method::LocalMean, Some(binarise));
                ctx.stream::<i8, _>(&r, false, |v| i8::from(v > 0.0))
            }
        },
        VolumeKind::InstanceMask => {
            let r = resized(resize::Method::Nearest, None);
            ctx.stream::<u16, _>(&r, false, |v| v as u16)
        }
    }
}

pub(super) struct Ctx<'a> {
    name: &'a str,
    opts: &'a VolumeOptions,
    staging_dir: &'a Path,
    vs: f64,
    shape: [usize; 3],
    header: VolumeHeader,
    mrc_extra: MrcExtra,
}

/// Accumulated over all level-0 rows.
pub(super) struct Acc {
    stats: DataStats,
    labels: Vec<u64>, // bitset over u16
}

/// The state of one streaming run.
pub(super) struct Run<'a, T: VoxelType, M> {
    name: &'a str,
    rows: &'a dyn RowSource,
    map: M,
    /// Spare chunk buffers (all levels share the chunk shape), so big buffers are not
    /// re-faulted for every chunk row.
    pool: Mutex<Vec<Vec<T>>>,
    geo: Geometry,
    /// Levels written to zarr (0 when zarr is off: only level 0 is streamed).
    zarr_levels: usize,
    zarr_root: PathBuf,
    zarr_rel: String,
    mrc: Option<MrcWriter>,
    mrc_path: PathBuf,
    key_z: Range<usize>,
    key_sum: Option<Mutex<Vec<f64>>>,
    acc: Mutex<Acc>,
    files: Mutex<Vec<OutputFile>>,
}

impl Ctx<'_> {
    fn stream<T: VoxelType, M: Fn(f32) -> T + Sync>(
        self,
        rows: &dyn RowSource,
        tilt_series: bool,
        map: M,
    ) -> Result<VolumeOutputs, VolumeError> {
        let mut geo = Geometry::new(self.shape, tilt_series);
        if let Some(chunk) = self.opts.chunk {
            geo = Geometry::with_chunk(self.shape, chunk, geo.bz);
        }
        let bz = geo.bz as f64;
        let level_spacings: Vec<[f64; 3]> = (0..LEVELS)
            .map(|i| {
                let f = 2f64.powi(i as i32);
                [self.vs * bz.powi(i as i32), self.vs * f, self.vs * f]
            })
            .collect();
        let stem = &self.opts.stem;
        let werr = |path: &Path| VolumeError::write(self.name, path);
        let zarr_rel = format!("{stem}.zarr");
        let zarr_root = self.staging_dir.join(&zarr_rel);
        let mrc_rel = format!("{stem}.mrc");
        let mrc_path = self.staging_dir.join(&mrc_rel);
        if self.opts.write_zarr {
            std::fs::create_dir_all(&zarr_root).map_err(werr(&zarr_root))?;
        }
        let timestamp = self
            .opts
            .timestamp
            .clone()
            .unwrap_or_else(|| chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string());
        let mrc = if self.opts.write_mrc {
            let (extra1, extra2, extended) = self.mrc_extra.clone();
            let spec = MrcOutputSpec {
                shape_zyx: self.shape,
                mode: T::MODE,
                voxel_size: self.vs,
                tilt_series,
                extra1,
                extra2,
                extended,
                timestamp,
            };
            Some(MrcWriter::create(&mrc_path, &spec).map_err(werr(&mrc_path))?)
        } else {
            None
        };
        let [nz, ny, nx] = self.shape;
        let key_z = crate::key_image::slab_range(nz);
        let run = Run {
            name: self.name,
            rows,
            map,
            pool: Mutex::new(Vec::new()),
            zarr_levels: if self.opts.write_zarr { LEVELS } else { 0 },
            zarr_root,
            zarr_rel: zarr_rel.clone(),
            mrc,
            mrc_path: mrc_path.clone(),
            key_sum: self.opts.key_slab.then(|| Mutex::new(vec![0f64; ny * nx])),
            key_z: key_z.clone(),
            acc: Mutex::new(Acc {
                stats: DataStats::default(),
                labels: vec![0u64; 1024],
            }),
            files: Mutex::new(Vec::new()),
            geo,
        };
        // Depth-first over the top level's chunk rows (or level 0 only without zarr).
        let top = run.zarr_levels.max(1) - 1;
        let g = run.geo.grid(top);
        for zc in 0..g[0] {
            for yc in 0..g[1] {
                let band = run.chunk_row(top, zc, yc)?;
                run.pool.lock().expect("pool lock").extend(band);
            }
        }
        let Run {
            mrc,
            acc,
            files,
            key_sum,
            geo,
            ..
        } = run;
        let acc = acc.into_inner().expect("acc lock");
        let mut files = files.into_inner().expect("files lock");
        let labels: Vec<u64> = if T::LABELS {
            (1..65536u64)
                .filter(|&l| acc.labels[(l / 64) as usize] >> (l % 64) & 1 == 1)
                .collect()
        } else {
            Vec::new()
        };
        if self.opts.write_zarr {
            let root = self.staging_dir.join(&zarr_rel);
            let zattrs = omezarr::multiscales_zattrs(
                &level_spacings,
                (kind_is_instance::<T>()).then_some(labels.as_slice()),
            );
            let mut docs = vec![
                (".zgroup".to_string(), omezarr::zgroup_json()),
                (".zattrs".to_string(), zattrs),
            ];
            for (level, s) in geo.shapes.iter().enumerate() {
                docs.push((
                    format!("{level}/.zarray"),
                    omezarr::zarray_json(*s, geo.chunk, T::DTYPE),
                ));
            }
            for (rel, text) in docs {
                let path = root.join(&rel);
                files.push(
                    write_file(&path, format!("{zarr_rel}/{rel}"), text.as_bytes())
                        .map_err(werr(&path))?,
                );
            }
        }
        let stats = acc.stats;
        let mut volume_stats = VolumeStats {
            dmin: stats.min,
            dmax: stats.max,
            dmean: stats.mean,
            rms: stats.std(),
        };
        if let Some(w) = mrc {
            let (_, header) = w.finish(&stats).map_err(werr(&mrc_path))?;
            // The header's mean and rms are the reference's float32 arithmetic: report those.
            volume_stats.dmean = f64::from(header.dmean);
            volume_stats.rms = f64::from(header.rms);
            let (size, blake3) = hash_mrc(&mrc_path).map_err(werr(&mrc_path))?;
            files.push(OutputFile {
                path: mrc_rel.clone(),
                size,
                blake3,
            });
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let key_slab = key_sum.map(|m| KeySlab {
            width: nx,
            height: ny,
            z_range: key_z,
            depth: self.shape[0],
            sum: m.into_inner().expect("key lock"),
        });
        Ok(VolumeOutputs {
            voxel_spacing: self.vs,
            size: self.shape.into(),
            scales: geo.shapes.iter().map(|&s| s.into()).collect(),
            level_spacings,
            stats: volume_stats,
            source_header: self.header,
            labels,
            zarr_dir: self.opts.write_zarr.then_some(zarr_rel),
            mrc_file: self.opts.write_mrc.then_some(mrc_rel),
            files,
            key_slab,
        })
    }
}

/// Instance masks (u16) carry the `image-label` block.
pub(super) fn kind_is_instance<T: VoxelType>() -> bool {
    T::DTYPE == omezarr::ZarrDtype::U2
}

/// Writes a file and returns its record (hashing the bytes in memory).
pub(super) fn write_file(path: &Path, rel: String, bytes: &[u8]) -> std::io::Result<OutputFile> {
    std::fs::write(path, bytes)?;
    Ok(OutputFile {
        path: rel,
        size: bytes.len() as u64,
        blake3: blake3::hash(bytes).to_hex().to_string(),
    })
}

/// BLAKE3 of the written MRC with the label timestamp blanked (see the module docs).
pub(super) fn hash_mrc(path: &Path) -> std::io::Result<(u64, String)> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut header = [0u8; mrc::HEADER_LEN];
    f.read_exact(&mut header)?;
    header[TIMESTAMP_RANGE].fill(b' ');
    let mut hasher = blake3::Hasher::new();
    hasher.update(&header);
    let mut size = header.len() as u64;
    let mut buf = vec![0u8; 8 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update_rayon(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hasher.finalize().to_hex().to_string()))
}

impl<T: VoxelType, M: Fn(f32) -> T + Sync> Run<'_, T, M> {
    /// Produces chunk row (`zc`, `yc`) of `level`: fills it (level 0) or pools its children into
    /// it, writes its chunks, and returns the buffers (one per x chunk) for the parent.
    fn chunk_row(&self, level: usize, zc: usize, yc: usize) -> Result<Vec<Vec<T>>, VolumeError> {
        let geo = &self.geo;
        let gx = geo.grid(level)[2];
        let mut band: Vec<Vec<T>> = (0..gx)
            .map(|xc| self.take_buffer(self.is_edge(level, [zc, yc, xc])))
            .collect();
        if level == 0 {
            self.fill_level0(zc, yc, &mut band)?;
        } else {
            let child_grid = geo.grid(level - 1);
            let order = SumOrder::for_level(geo.shapes[level], geo.bz);
            let [cz, cy, cx] = geo.chunk;
            for dz in 0..geo.bz {
                for dy in 0..2 {
                    let (czc, cyc) = (zc * geo.bz + dz, yc * 2 + dy);
                    if czc >= child_grid[0] || cyc >= child_grid[1] {
                        continue;
                    }
                    let child = self.chunk_row(level - 1, czc, cyc)?;
                    for (p, dst) in band.iter_mut().enumerate() {
                        for dx in 0..2 {
                            if let Some(src) = child.get(2 * p + dx) {
                                let off = [dz * cz / geo.bz, dy * cy / 2, dx * cx / 2];
                                pool_chunk_into_par(src, geo.chunk, geo.bz, dst, off, order);
                            }
                        }
                    }
                    self.pool.lock().expect("pool lock").extend(child);
                }
            }
        }
        if level < self.zarr_levels {
            self.write_chunks(level, zc, yc, &band)?;
        }
        Ok(band)
    }

    /// A chunk buffer; `zero` when the chunk will not be fully overwritten (edges).
    fn take_buffer(&self, zero: bool) -> Vec<T> {
        match self.pool.lock().expect("pool lock").pop() {
            Some(mut b) => {
                if zero {
                    b.fill(T::default());
                }
                b
            }
            None => vec![T::default(); self.geo.chunk_len()],
        }
    }

    /// True when chunk `idx` of `level` is not entirely covered by data (level 0) or by child
    /// chunks (pooled levels), so its buffer must start zeroed.
    fn is_edge(&self, level: usize, idx: [usize; 3]) -> bool {
        let geo = &self.geo;
        if level == 0 {
            (0..3).any(|a| (idx[a] + 1) * geo.chunk[a] > geo.shapes[0][a])
        } else {
            let g = geo.grid(level - 1);
            idx[0] * geo.bz + geo.bz > g[0] || idx[1] * 2 + 2 > g[1] || idx[2] * 2 + 2 > g[2]
        }
    }

    /// Reads the source rows of chunk row (`zc`, `yc`) of level 0 into `band`, writing the MRC
    /// rows, statistics, labels and key-slab sums on the way.
    fn fill_level0(&self, zc: usize, yc: usize, band: &mut [Vec<T>]) -> Result<(), VolumeError> {
        let [nz, ny, nx] = self.geo.shapes[0];
        let [cz, cy, cx] = self.geo.chunk;
        let z = zc * cz..((zc + 1) * cz).min(nz);
        let y = yc * cy..((yc + 1) * cy).min(ny);
        self.rows.prepare(z.clone(), y.clone())?;
        // Split every chunk into its z planes so each section can be scattered independently.
        let mut planes: Vec<Vec<&mut [T]>> = (0..z.len()).map(|_| Vec::new()).collect();
        for chunk in band.iter_mut() {
            for (p, plane) in chunk.chunks_mut(cy * cx).take(z.len()).enumerate() {
                planes[p].push(plane);
            }
        }
        let h = y.len();
        let partial: Vec<Result<(DataStats, Vec<u64>), VolumeError>> = planes
            .into_par_iter()
            .enumerate()
            .map_init(
                || (Vec::<f32>::new(), Vec::<T>::new()),
                |(f, scratch), (dz, mut chunk_planes)| {
                    let zi = z.start + dz;
                    f.resize(h * nx, 0.0);
                    self.rows.read_rows(zi, y.clone(), f)?;
                    let t: &[T] = T::map_slice(f, &self.map, scratch);
                    if let Some(w) = &self.mrc {
                        w.write_rows_bytes(zi, y.start, &T::le_bytes(t))
                            .map_err(VolumeError::write(self.name, &self.mrc_path))?;
                    }
                    let stats = DataStats::from_values(t);
                    let mut labels = Vec::new();
                    if T::LABELS {
                        labels = vec![0u64; 1024];
                        for &v in t {
                            let l = v.label();
                            labels[usize::from(l / 64)] |= 1 << (l % 64);
                        }
                    }
                    for (j, plane) in chunk_planes.iter_mut().enumerate() {
                        let xs = j * cx;
                        let w = cx.min(nx - xs);
                        for r in 0..h {
                            plane[r * cx..r * cx + w]
                                .copy_from_slice(&t[r * nx + xs..r * nx + xs + w]);
                        }
                    }
                    if let (Some(sum), true) = (&self.key_sum, self.key_z.contains(&zi)) {
                        let mut s = sum.lock().expect("key lock");
                        let rows = &mut s[y.start * nx..y.end * nx];
                        for (a, &v) in rows.iter_mut().zip(t) {
                            *a += v.into();
                        }
                    }
                    Ok((stats, labels))
                },
            )
            .collect();
        let mut acc = self.acc.lock().expect("acc lock");
        for p in partial {
            let (stats, labels) = p?;
            acc.stats = acc.stats.merge(stats);
            for (a, b) in acc.labels.iter_mut().zip(&labels) {
                *a |= b;
            }
        }
        Ok(())
    }

    /// Encodes and writes one chunk row of `level` in parallel, hashing each chunk file.
    fn write_chunks(
        &self,
        level: usize,
        zc: usize,
        yc: usize,
        band: &[Vec<T>],
    ) -> Result<(), VolumeError> {
        let dir = self
            .zarr_root
            .join(format!("{level}"))
            .join(zc.to_string())
            .join(yc.to_string());
        let werr = |path: &Path| VolumeError::write(self.name, path);
        std::fs::create_dir_all(&dir).map_err(werr(&dir))?;
        // One blosc thread per chunk: with several, blosc stores blocks in the order threads
        // finish them, so equal data could give different bytes and break early cutoff.
        // Parallelism comes from encoding the chunks of a row together.
        let threads = 1;
        let written: Vec<Result<OutputFile, VolumeError>> = band
            .par_iter()
            .enumerate()
            .map(|(xc, chunk)| {
                let bytes = T::le_bytes(chunk);
                let enc = omezarr::encode_chunk(&bytes, T::DTYPE, threads, self.name)?;
                let key = omezarr::chunk_key(level, [zc, yc, xc]);
                let path = dir.join(xc.to_string());
                write_file(&path, format!("{}/{key}", self.zarr_rel), &enc).map_err(werr(&path))
            })
            .collect();
        let mut files = self.files.lock().expect("files lock");
        for w in written {
            files.push(w?);
        }
        Ok(())
    }
}
